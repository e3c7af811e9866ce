"""Normalised email and phone, the keys of duplicate detection."""

import phonenumbers
from django.conf import settings


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def normalize_phone(phone: str, *, region: str | None = None) -> str:
    """E.164 form of a phone number ("+4930123456"), or "" when it cannot be read as one."""
    phone = (phone or "").strip()
    if not phone:
        return ""
    try:
        parsed = phonenumbers.parse(phone, region or settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(parsed):
        return ""
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
