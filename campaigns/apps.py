from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self) -> None:
        # `leads` must not import campaigns: the lead page loads the campaigns panel by its URL name, and arrivals
        # with an ad or content campaign's utm_campaign reach it by the signals `leads` sends on commit.
        from campaigns import arrivals
        from leads.panels import register_lead_panel
        from leads.signals import lead_changed, leads_bulk_created, leads_bulk_updated

        register_lead_panel("campaigns:lead_panel")
        lead_changed.connect(arrivals.lead_changed_receiver, dispatch_uid="campaigns.lead_changed")
        leads_bulk_created.connect(arrivals.leads_bulk_receiver, dispatch_uid="campaigns.leads_bulk_created")
        leads_bulk_updated.connect(arrivals.leads_bulk_receiver, dispatch_uid="campaigns.leads_bulk_updated")
