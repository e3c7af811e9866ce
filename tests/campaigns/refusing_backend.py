"""An email backend whose server refuses every message (a backend error, as an SMTP server answering 4xx)."""

import smtplib

from django.core.mail.backends.base import BaseEmailBackend


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise smtplib.SMTPDataError(451, b"Temporary local problem, try again later")


class DroppingBackend(BaseEmailBackend):
    """The connection drops while the message is being sent: the server may have taken it before it went away."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
