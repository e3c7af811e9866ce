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


class DroppingOnceBackend(BaseEmailBackend):
    """The first message's connection drops midway; as with Django's SMTP backend, the backend still holds the
    connection as open afterwards (its `open()` does nothing) while the socket is gone, until it is closed."""

    drops = 1
    sent: list = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.connection, self.alive = None, False

    def open(self):
        if self.connection:
            return False
        self.connection, self.alive = object(), True
        return True

    def close(self):
        self.connection, self.alive = None, False

    def send_messages(self, email_messages):
        if not self.alive:
            raise smtplib.SMTPServerDisconnected("please run connect() first")
        if DroppingOnceBackend.drops:
            DroppingOnceBackend.drops -= 1
            self.alive = False
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        DroppingOnceBackend.sent.extend(email_messages)
        return len(email_messages)
