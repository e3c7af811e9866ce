"""Panels other apps add to the lead page, by template name.

`leads` renders them without importing those apps: an app registers a template in its `AppConfig.ready()`
(scoring adds its score breakdown and trend), and the lead page includes each with the lead in its context.
"""

LEAD_PAGE_PANELS: list[str] = []


def register_lead_panel(template_name: str) -> None:
    if template_name not in LEAD_PAGE_PANELS:
        LEAD_PAGE_PANELS.append(template_name)
