"""Panels on the lead page, each an htmx fragment loaded by URL once the page is shown.

The lead page runs no other app's queries while it renders: it shows an empty slot per registered panel, which
asks for the panel's URL (`hx-trigger="load, lead-changed from:body"`), and again after every change to the
lead (the lead's write views answer with the `lead-changed` event). An app registers the name of a URL that takes
the lead's id, in its `AppConfig.ready()`: `leads` shows scoring's breakdown without importing scoring.
"""

LEAD_PAGE_PANELS: list[str] = []


def register_lead_panel(url_name: str) -> None:
    if url_name not in LEAD_PAGE_PANELS:
        LEAD_PAGE_PANELS.append(url_name)
