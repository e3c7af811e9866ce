"""What a campaign email says: merge fields, its links, and the plain-text and HTML parts.

The author writes plain text. Merge fields (`{{ first_name }}`, `{{ name }}`, `{{ company }}`, `{{ job_title }}`,
`{{ city }}`) are replaced by the lead's values, never evaluated as a template. The HTML part is that text
escaped, cut into paragraphs, with every link of the body turned into a tracked redirect: nothing the author or a
lead typed can put markup into the message. The links of a body are its only click targets (`body_links`).
"""

import re
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils.html import escape

MERGE_FIELDS = ("first_name", "name", "company", "job_title", "city")
MERGE_FIELD = re.compile(r"\{\{\s*(" + "|".join(MERGE_FIELDS) + r")\s*\}\}")
LINK = re.compile(r"https?://[^\s<>\"']+")
_TRAILING = ".,;:!?)]}"


def _link_at(match: re.Match) -> str:
    return match.group(0).rstrip(_TRAILING)


def body_links(body: str) -> list[str]:
    """The distinct links of a body, in order of appearance: a click URL names one by its position here."""
    links: list[str] = []
    for match in LINK.finditer(body):
        link = _link_at(match)
        if link not in links:
            links.append(link)
    return links


def merge_values(lead) -> dict[str, str]:
    name = (lead.name or "").strip()
    return {
        "name": name,
        "first_name": name.split()[0] if name else "",
        "company": lead.company or "",
        "job_title": lead.job_title or "",
        "city": lead.city or "",
    }


def merge(text: str, values: dict[str, str]) -> str:
    return MERGE_FIELD.sub(lambda match: values.get(match.group(1), ""), text)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render_email(*, subject: str, body: str, lead, click_url, open_url: str, unsubscribe_url: str) -> Rendered:
    """The message for one lead. `click_url(index)` gives the tracked URL of the body's link number `index`."""
    values = merge_values(lead)
    links = body_links(body)
    merged = merge(body, values)
    # Links are found in the body as written (merge values cannot add one), then replaced in the merged text.
    tracked = {link: click_url(index) for index, link in enumerate(links)}

    def plain(match: re.Match) -> str:
        link = _link_at(match)
        return tracked.get(link, link) + match.group(0)[len(link) :]

    text = LINK.sub(plain, merged)
    text += f"\n\n--\nNo more emails like this: {unsubscribe_url}\n"

    paragraphs = []
    for paragraph in re.split(r"\n\s*\n", merged.strip()):
        pieces, last = [], 0
        for match in LINK.finditer(paragraph):
            link = _link_at(match)
            pieces.append(escape(paragraph[last : match.start()]))
            if link in tracked:
                pieces.append(f'<a href="{escape(tracked[link])}">{escape(link)}</a>')
            else:
                pieces.append(escape(link))
            last = match.start() + len(link)
        pieces.append(escape(paragraph[last:]))
        paragraphs.append("".join(pieces).replace("\n", "<br>\n"))
    html = render_to_string(
        "campaigns/email/message.html",
        {"paragraphs": paragraphs, "open_url": open_url, "unsubscribe_url": unsubscribe_url},
    )
    clean_subject = " ".join(merge(subject, values).split())[:250]
    return Rendered(subject=clean_subject, text=text, html=html)
