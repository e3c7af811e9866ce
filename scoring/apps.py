from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"

    def ready(self) -> None:
        # `leads` must not import scoring; scoring listens to the signals leads sends (on commit; new leads in their
        # own transaction).
        from leads.panels import register_lead_panel
        from leads.signals import (
            interaction_logged,
            interactions_bulk_logged,
            lead_changed,
            leads_arriving,
            leads_bulk_updated,
        )
        from scoring import receivers

        register_lead_panel("scoring:lead_panel")
        lead_changed.connect(receivers.lead_changed_receiver, dispatch_uid="scoring.lead_changed")
        interaction_logged.connect(receivers.interaction_logged_receiver, dispatch_uid="scoring.interaction_logged")
        # New leads are marked in their own transaction (leads_arriving), not again on commit (leads_bulk_created).
        leads_arriving.connect(receivers.leads_arriving_receiver, dispatch_uid="scoring.leads_arriving")
        leads_bulk_updated.connect(receivers.leads_bulk_receiver, dispatch_uid="scoring.leads_bulk_updated")
        interactions_bulk_logged.connect(receivers.leads_bulk_receiver, dispatch_uid="scoring.interactions_bulk_logged")
