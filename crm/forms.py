from django import forms

from crm.models import User


class NotificationPreferencesForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["email_notifications"]
        labels = {"email_notifications": "Email me a digest of new notifications"}
        help_texts = {"email_notifications": ""}
