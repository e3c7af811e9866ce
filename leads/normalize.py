"""Normalised email and phone, the keys of duplicate detection."""

import functools
import re
import unicodedata

import phonenumbers
import pycountry
from django.conf import settings
from django.core.exceptions import ValidationError
from email_validator import EmailNotValidError, validate_email


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def normalize_phone(phone: str, *, region: str | None = None) -> str:
    """E.164 form of a phone number ("+4930123456"), or "" when it cannot be read as one."""
    parsed = parse_phone(phone, region=region)
    if parsed is None:
        return ""
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def parse_phone(phone: str, *, region: str | None = None) -> phonenumbers.PhoneNumber | None:
    """A possible phone number read from `phone` (in `region`, PHONE_DEFAULT_REGION by default), or None.

    Most of the world dials abroad with "00": a number written "001-672-799-2170" or "0049 30 1234567" that is no
    possible number where it is read is read again as "+1 672…", "+49 30…"."""
    phone = (phone or "").strip()
    if not phone:
        return None
    region = region or settings.PHONE_DEFAULT_REGION
    try:
        parsed = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None and phonenumbers.is_possible_number(parsed):
        return parsed
    if phone.startswith("00"):
        try:
            parsed = phonenumbers.parse("+" + phone[2:], region)
        except phonenumbers.NumberParseException:
            return None
        if phonenumbers.is_possible_number(parsed):
            return parsed
    return None


# A local part of plain ASCII "atext" words joined by dots (RFC 5322's dot-atom): valid as it is.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")


def email_problem(email: str) -> str:
    """Why `email` is not an address mail can be sent to, or "" when it is one (by the standards: RFC 5321/5322
    with internationalised addresses, RFC 6531, as `email-validator` reads them; no DNS look-up).

    Most addresses have a plain local part and one of a few domains: those check the domain once (cached), the
    slow part for an import of 100,000 rows; any other address goes through the whole validation."""
    local, at, domain = email.rpartition("@")
    if at and len(email) <= 254 and len(local) <= 64 and _DOT_ATOM.match(local):
        return _domain_problem(domain)
    return _whole_address_problem(email)


# A plain ASCII host name: letter-digit-hyphen labels of 1 to 63 characters, a top-level label of letters.
_PLAIN_DOMAIN = re.compile(r"(?:(?!-)[A-Za-z0-9-]{1,63}(?<!-)\.)+[A-Za-z]{2,63}\Z")


@functools.lru_cache(maxsize=4096)
def _domain_problem(domain: str) -> str:
    # A plain host name is valid syntax, without email-validator's per-character IDNA pass (an A-label, xn--, is
    # read in full). Special-use names (RFC 6761: .test, .invalid) are valid syntax too: whether mail can reach
    # an address is no question asked here (no deliverability check), and tools and drills use them.
    if len(domain) <= 253 and _PLAIN_DOMAIN.match(domain) and "xn--" not in domain.lower():
        return ""
    return _whole_address_problem("a@" + domain)


def validate_standard_email(value: str) -> None:
    """A Django validator of `email_problem`: the one rule of an address on every way in (forms, API, import)."""
    problem = email_problem(value) if value else ""
    if problem:
        raise ValidationError(f"Enter a valid email address. {problem}", code="invalid")


def _whole_address_problem(email: str) -> str:
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
    # Names faker-made and older datasets use that ISO 3166 does not give.
    "pitcairnislands": "PN",
    "palestinianterritory": "PS",
    "palestinianterritories": "PS",
    "unitedstatesvirginislands": "VI",
    "usvirginislands": "VI",
    "britishvirginislands": "VG",
    # Former names still in lists and exports.
    "swaziland": "SZ",
    "burma": "MM",
    "macedonia": "MK",
    "zaire": "CD",
}


def _country_key(text: str) -> str:
    """A country's name as compared: lower case, accents and everything but letters and digits left out
    ("Saint Barthélemy" and "saint barthelemy" alike)."""
    text = unicodedata.normalize("NFKD", text.lower())
    return re.sub(r"[\W_]+", "", "".join(c for c in text if not unicodedata.combining(c)))


@functools.cache
def _country_names() -> dict[str, str]:
    """Country name (as `_country_key` spells it) → ISO 3166 code: ISO's names in pycountry (short, official and
    common: "Russian Federation", "Lao People's Democratic Republic", "Bolivia, Plurinational State of"), the part
    before a comma or a bracket ("Slovakia (Slovak Republic)"), and other names exports use."""
    names: dict[str, str] = {}
    for country in pycountry.countries:
        for name in (country.name, getattr(country, "official_name", ""), getattr(country, "common_name", "")):
            if name:
                names.setdefault(_country_key(name), country.alpha_2)
                names.setdefault(_country_key(re.split(r"[,(]", name)[0]), country.alpha_2)
    names.update({_country_key(alias): code for alias, code in _COUNTRY_ALIASES.items()})
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
    return _country_names().get(key) or _country_names().get(_country_key(re.split(r"[,(]", text)[0]), "")
