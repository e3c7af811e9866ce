from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"

    def ready(self) -> None:
        from leads.panels import register_lead_panel

        register_lead_panel("leads:merge_panel")
