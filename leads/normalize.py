"""Normalised email and phone, the keys of duplicate detection."""

import functools
import re

import phonenumbers
from django.conf import settings
from email_validator import EmailNotValidError, validate_email


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


def email_problem(email: str) -> str:
    """Why `email` is not an address mail can be sent to, or "" when it is one (by the standards: RFC 5321/5322
    with internationalised addresses, RFC 6531, as `email-validator` reads them; no DNS look-up)."""
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        return str(error)
    return ""


# Other names of countries than their English short name, as exports write them.
_COUNTRY_ALIASES = {
    "usa": "US",
    "us": "US",
    "unitedstatesofamerica": "US",
    "america": "US",
    "uk": "GB",
    "greatbritain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northernireland": "GB",
    "uae": "AE",
    "southkorea": "KR",
    "korea": "KR",
    "russia": "RU",
    "czechia": "CZ",
    "czechrepublic": "CZ",
    "holland": "NL",
    "thenetherlands": "NL",
    "turkey": "TR",
    "turkiye": "TR",
    "vietnam": "VN",
    "ivorycoast": "CI",
    "hongkong": "HK",
    "macau": "MO",
    "deutschland": "DE",
    "espana": "ES",
    "españa": "ES",
    "italia": "IT",
    "schweiz": "CH",
    "suisse": "CH",
    "österreich": "AT",
    "osterreich": "AT",
    "brasil": "BR",
}


def _country_key(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


@functools.cache
def _country_names() -> dict[str, str]:
    """Country name (as `_country_key` spells it) → ISO code, from the English names phonenumbers ships."""
    from phonenumbers.geocoder import _region_display_name

    names = {}
    for code in phonenumbers.SUPPORTED_REGIONS:
        name = _region_display_name(code, "en")
        if name:
            names.setdefault(_country_key(name), code)
            # "Korea, Republic of"-style names: also the part before the comma.
            names.setdefault(_country_key(name.split(",")[0].split("(")[0]), code)
    names.update(_COUNTRY_ALIASES)
    return names


def country_code(text: str) -> str:
    """The ISO 3166 code of a country given by its code ("de") or its name ("Germany", "United States"); ""
    when it is neither."""
    text = (text or "").strip()
    key = _country_key(text)
    if key in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[key]
    if len(text) == 2 and text.isascii() and text.isalpha():
        return text.upper()
    return _country_names().get(key, "")
