from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"

    def ready(self) -> None:
        from leads.channels.services import connect_signals
        from leads.panels import register_lead_panel
        from leads.routing.services import connect_signals as connect_routing_signals
        from leads.sla.services import connect_signals as connect_sla_signals

        connect_signals()
        connect_routing_signals()
        connect_sla_signals()
        register_lead_panel("leads:merge_panel")
