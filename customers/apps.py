from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"

    def ready(self) -> None:
        # `leads` must not import customers: the lead page shows the customer panel by URL (leads.panels), and
        # `manage.py seed_demo` asks for demo customers through a signal (leads.signals.demo_seeded).
        from customers.demo import demo_seeded_receiver
        from leads.panels import register_lead_panel
        from leads.signals import demo_seeded

        register_lead_panel("customers:lead_panel")
        demo_seeded.connect(demo_seeded_receiver, dispatch_uid="customers.demo_seeded")
