"""Every page carries the Content Security Policy: scripts from our own files only, no framing; the public web form
may be framed by the company's site and send visitors on to it."""

import pytest
from django.urls import reverse

from leads.models import WebForm

pytestmark = pytest.mark.django_db


def test_pages_carry_a_strict_script_policy(rep_client):
    policy = rep_client.get(reverse("leads:list"))["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["form-action"] == "'self'"
    assert "unsafe-eval" not in policy


def test_the_public_web_form_may_be_framed_and_redirect_off_site(client, channel):
    WebForm.objects.create(channel=channel, slug="demo-request", published=True)
    policy = client.get("/f/demo-request/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors" not in policy and "form-action" not in policy
