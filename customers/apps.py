from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"

    def ready(self) -> None:
        # `leads` must not import customers: the lead page shows the customer panel by URL (leads.panels).
        from leads.panels import register_lead_panel

        register_lead_panel("customers:lead_panel")
