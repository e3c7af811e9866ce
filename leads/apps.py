from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"

    def ready(self) -> None:
        from leads.channels.services import connect_signals
        from leads.panels import register_lead_panel

        connect_signals()
        register_lead_panel("leads:merge_panel")
