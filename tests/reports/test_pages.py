"""The report pages: filters in the URL, htmx partials, CSV, permissions, the dashboard as managers' home."""

import csv
import io

import pytest

from tests.reports.conftest import MARCH

pytestmark = pytest.mark.django_db
SLUGS = ["funnel", "conversion", "velocity", "economics", "speed", "team", "completeness", "grades"]


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.mark.parametrize("slug", SLUGS)
def test_every_report_page_renders_with_a_chart_and_a_table(month, admin_client, slug, django_assert_max_num_queries):
    with django_assert_max_num_queries(20):
        response = admin_client.get(f"/reports/{slug}/", MARCH)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="chart-image" src="data:image/svg+xml;base64,' in html and "<table" in html
    assert "01 Mar – 31 Mar 2026" in html


def test_htmx_filter_change_returns_only_the_results(month, admin_client, htmx):
    response = admin_client.get("/reports/funnel/", MARCH, headers=htmx)
    assert response.status_code == 200
    assert response.content.lstrip().startswith(b'<div id="results"')
    assert b"<html" not in response.content


def test_csv_has_one_row_per_group_and_plain_column_names(month, admin_client):
    response = admin_client.get("/reports/conversion/", {**MARCH, "by": "channel", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert list(rows[0])[:4] == ["group", "leads", "won", "conversion_rate"]
    by_group = {row["group"]: row for row in rows}
    assert by_group["Google Ads"]["conversion_rate"] == "0.5"
    assert by_group["Referral"]["conversion_rate"] == ""  # empty denominator
    assert by_group["All"]["leads"] == "6"


def test_csv_with_bad_dates_is_a_400_with_the_reason(month, admin_client):
    response = admin_client.get(
        "/reports/funnel/", {"period": "custom", "start": "2026-03-31", "end": "2026-03-01", "format": "csv"}
    )
    assert response.status_code == 400
    assert b"The last day comes before the first" in response.content


def test_custom_period_without_dates_shows_the_error_next_to_the_field(month, admin_client):
    response = admin_client.get("/reports/funnel/", {"period": "custom"})
    assert response.status_code == 200
    assert b"Choose the first day." in response.content


def test_a_rep_cannot_open_channel_economics_or_the_team_report(month, client, rep):
    client.force_login(rep)
    assert client.get("/reports/economics/").status_code == 403
    assert client.get("/reports/team/").status_code == 403
    assert client.get("/reports/economics/", {"format": "csv"}).status_code == 403
    assert client.get("/reports/funnel/").status_code == 200


def test_a_manager_cannot_filter_on_another_team_or_its_people(month, manager_client, other_team, other_rep):
    response = manager_client.get("/reports/funnel/", {**MARCH, "team": other_team.pk, "owner": other_rep.pk})
    assert response.status_code == 200
    form = response.context["form"]
    assert "team" in form.errors and "owner" in form.errors
    # The figures fall back to the manager's own scope: never the other team's.
    assert response.context["scope"].allowed_team_ids == (
        manager_client.session and response.context["scope"].allowed_team_ids
    )
    assert response.context["scope"].team is None


def test_a_reps_owner_filter_is_ignored(month, client, rep, teammate):
    client.force_login(rep)
    response = client.get("/reports/conversion/", {**MARCH, "owner": teammate.pk, "format": "csv"})
    rows = {row["group"]: row for row in csv.DictReader(io.StringIO(response.content.decode()))}
    assert rows["All"]["leads"] == "3"  # L1, L2, L6: the rep's own


def test_unknown_report_is_a_404(admin_client):
    assert admin_client.get("/reports/nothing/").status_code == 404


def test_managers_land_on_the_dashboard_and_reps_on_my_day(month, client, manager, rep):
    client.force_login(manager)
    response = client.get("/")
    assert response.status_code == 200
    assert "reports/dashboard.html" in [t.name for t in response.templates]
    assert b'href="/my-day/"' in response.content
    client.force_login(rep)
    response = client.get("/")
    assert "leads/my_day.html" in [t.name for t in response.templates]


def test_dashboard_headlines_link_to_reports_and_leads(month, admin_client):
    response = admin_client.get("/reports/", MARCH)
    assert response.status_code == 200
    dashboard = response.context["dashboard"]
    headlines = {h.label: h for h in dashboard.headlines}
    assert headlines["Leads"].cell.text == "6"
    assert headlines["Conversion"].cell.sub == "2 / 6"
    assert headlines["CAC"].cell.text == "1,785.00"
    assert [p.report for p in dashboard.panels] == ["funnel", "conversion", "speed"]
    assert b"/reports/speed/?" in response.content


def test_an_htmx_change_with_bad_dates_also_returns_the_filters_with_their_errors(month, admin_client, htmx):
    response = admin_client.get("/reports/funnel/", {"period": "custom", "start": "2026-03-01"}, headers=htmx)
    html = response.content.decode()
    assert 'id="report-filters" hx-swap-oob="true"' in html
    assert "Choose the last day." in html


def test_a_reps_dashboard_shows_own_figures_and_no_cost(month, client, rep):
    client.force_login(rep)
    response = client.get("/reports/", MARCH)
    headlines = {h.label: h for h in response.context["dashboard"].headlines}
    assert headlines["Leads"].cell.text == "3"
    assert "CAC" not in headlines
