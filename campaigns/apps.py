from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self) -> None:
        # `leads` must not import campaigns: the lead page loads the campaigns panel by its URL name.
        from leads.panels import register_lead_panel

        register_lead_panel("campaigns:lead_panel")
