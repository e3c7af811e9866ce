from django.urls import path

from customers import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="list"),
    path("export.csv", views.customer_export, name="export"),
    path("churn-rule/", views.churn_rule, name="churn_rule"),
    path("orders/import/", views.orders_import, name="orders_import"),
    path("orders/import/<int:order_import_id>/", views.orders_import_detail, name="orders_import_detail"),
    path("orders/import/<int:order_import_id>/rejected.csv", views.orders_import_rejects, name="orders_import_rejects"),
    path("<int:account_id>/", views.customer_detail, name="detail"),
    path("<int:account_id>/orders/", views.order_create, name="order_create"),
    path("orders/<int:order_id>/delete/", views.order_delete, name="order_delete"),
    path("<int:account_id>/contacts/", views.contact_create, name="contact_create"),
    path("<int:account_id>/churn/", views.customer_churn, name="churn"),
    path("<int:account_id>/owner/", views.customer_reassign, name="reassign"),
    path("<int:account_id>/tasks/", views.task_create, name="task_create"),
    path("<int:account_id>/surveys/", views.survey_send, name="survey_send"),
    # On the lead page: the customer panel and converting a won lead.
    path("leads/<int:lead_id>/panel/", views.lead_panel, name="lead_panel"),
    path("leads/<int:lead_id>/convert/", views.lead_convert, name="convert"),
]
