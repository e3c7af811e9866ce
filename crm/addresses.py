"""Where a request comes from: one rule for every limit counted per client address (web forms, logins)."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, or None when the request carries no valid one.

    Behind a proxy (WEBFORM_TRUST_X_FORWARDED_FOR) every request has the proxy's REMOTE_ADDR, so the client's address
    is the last X-Forwarded-For entry: the one our proxy appended. The entries before it are whatever the client
    sent and could be forged, so they are never read. An address that does not parse is None rather than a string
    anyone could vary (and that the login throttling's address column would refuse).
    """
    address = request.META.get("REMOTE_ADDR", "")
    if settings.WEBFORM_TRUST_X_FORWARDED_FOR:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
        if forwarded:
            address = forwarded[-1]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None
