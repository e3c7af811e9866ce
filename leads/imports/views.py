"""Pages of the CSV import (upload → map → preview → start → progress → report) and the leads list's export.

Imports are for managers and admins: a rep gets 403 on every import page (their leads would all be theirs, and
bulk loading is a team lead's job). Managers see their own imports, admins everyone's; someone else's import is
404. Anyone may export the leads list, within what they may see (`leads.exports.leads_exportable_by`).
"""

import csv
import datetime as dt
import io

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from crm import access, clock
from crm.models import User
from leads.exports import export_csv_lines, leads_exportable_by
from leads.filters import LeadFilter
from leads.imports import services as imports
from leads.imports.forms import MappingForm, UploadForm
from leads.models import ImportJob

PREVIEW_ROWS = 20


def import_jobs_visible_to(*, user: User) -> QuerySet[ImportJob]:
    """Admins see every import, managers their own; reps none (the pages refuse them first)."""
    jobs = ImportJob.objects.select_related("created_by")
    if access.is_crm_admin(user):
        return jobs
    if access.can_import_leads(user):
        return jobs.filter(created_by=user)
    return jobs.none()


def _require_importer(request: HttpRequest) -> None:
    access.ensure(access.can_import_leads, request.user)


def _job(request: HttpRequest, job_id: int) -> ImportJob:
    _require_importer(request)
    # The file's text is only read where it is needed (preview, the worker): it may be megabytes.
    job = (
        import_jobs_visible_to(user=request.user)
        .defer("content", "rejected_csv", "warnings_csv")
        .filter(pk=job_id)
        .first()
    )
    if job is None:
        raise Http404("No such import.")
    return job


@require_http_methods(["GET", "POST"])
def import_list(request: HttpRequest) -> HttpResponse:
    """Past imports, and the upload form that starts a new one."""
    _require_importer(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = imports.import_job_create(
                user=request.user, file_name=upload.name, data=upload.read(), encoding=form.cleaned_data["encoding"]
            )
        except imports.ImportFileError as error:
            form.add_error("encoding" if "UTF-8" in str(error) else "file", str(error))
        else:
            return redirect("leads:import_map", job.pk)
    jobs = import_jobs_visible_to(user=request.user).defer(
        "content", "rejected_csv", "warnings_csv", "header", "mapping", "days_touched"
    )[:50]
    return render(request, "leads/imports/list.html", {"form": form, "jobs": jobs})


@require_http_methods(["GET", "POST"])
def import_map(request: HttpRequest, job_id: int) -> HttpResponse:
    """Map columns to fields and choose options; "Preview" shows the first rows read that way, "Import" starts."""
    job = _job(request, job_id)
    if job.status != ImportJob.Status.DRAFT:
        return redirect(job)
    form = MappingForm(request.POST or None, job=job, user=request.user)
    preview, problem = None, ""
    if request.method == "POST" and form.is_valid():
        mapping, options = form.cleaned_data["mapping"], form.options()
        try:
            if request.POST.get("action") == "start":
                with transaction.atomic():
                    imports.import_job_configure(job=job, user=request.user, mapping=mapping, options=options)
                    imports.import_job_start(job=job, user=request.user)
                url = job.get_absolute_url()
                return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
            job.content = ImportJob.objects.values_list("content", flat=True).get(pk=job.pk)
            preview = imports.import_job_preview(
                job=job, user=request.user, mapping=mapping, options=options, rows=PREVIEW_ROWS
            )
        except imports.ImportFileError as error:
            form.add_error(None, str(error))
    elif request.method == "GET":
        preview, problem = _guessed_preview(request, job)
    context = {"job": job, "form": form, "preview": preview, "preview_problem": problem, "fields": imports.FIELDS}
    if request.htmx:
        return render(request, "leads/imports/map.html#mapping", context)
    return render(request, "leads/imports/map.html", context)


def _guessed_preview(request: HttpRequest, job: ImportJob):
    """The preview with the guessed mapping, shown as soon as the page opens."""
    job.content = ImportJob.objects.values_list("content", flat=True).get(pk=job.pk)
    try:
        options = imports.ImportOptions.from_dict(job.options)
        return imports.import_job_preview(
            job=job, user=request.user, mapping=job.mapping, options=options, rows=PREVIEW_ROWS
        ), ""
    except imports.ImportFileError as error:
        return None, str(error)


@require_GET
def import_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    """The import's progress (polled by htmx every second while it runs), then its report."""
    job = _job(request, job_id)
    if job.status == ImportJob.Status.DRAFT:
        return redirect("leads:import_map", job.pk)
    context = {"job": job, "rejects": [], "warnings": [], "reject_kinds": [], "warning_kinds": []}
    if job.is_finished and (job.rejected or job.warned):
        rejected, warned = ImportJob.objects.values_list("rejected_csv", "warnings_csv").get(pk=job.pk)
        context["rejects"], context["reject_kinds"] = _report_rows(rejected)
        context["warnings"], context["warning_kinds"] = _report_rows(warned)
    if request.htmx:
        return render(request, "leads/imports/detail.html#progress", context)
    return render(request, "leads/imports/detail.html", context)


def _report_rows(text: str, limit: int = 20) -> tuple[list[dict], list[tuple[str, int]]]:
    """The first rows of a report's CSV (line, reason, cells), and every reason by kind with its count."""
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader, None)
    rows, every = [], []
    for row in reader:
        every.append(imports.Rejection(line=int(row[-2]), row=row[:-2], reason=row[-1]))
        if len(rows) < limit:
            rows.append({"line": row[-2], "reason": row[-1], "cells": row[:-2]})
    return rows, imports.summarize(every)


def _report_csv(job: ImportJob, column: str, suffix: str) -> HttpResponse:
    text = ImportJob.objects.values_list(column, flat=True).get(pk=job.pk)
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    stem = job.file_name.rsplit(".", 1)[0] or "import"
    response["Content-Disposition"] = f'attachment; filename="{stem}-{suffix}.csv"'
    return response


@require_GET
def import_rejects(request: HttpRequest, job_id: int) -> HttpResponse:
    """The rejected rows as CSV: the file's own columns, then line and reason; fix them and import this file."""
    return _report_csv(_job(request, job_id), "rejected_csv", "rejected")


@require_GET
def import_warnings(request: HttpRequest, job_id: int) -> HttpResponse:
    """The rows imported with warnings as CSV: the file's own columns, then line and warning (formula-safe, as
    they were written by `rejections_csv`)."""
    return _report_csv(_job(request, job_id), "warnings_csv", "warnings")


@require_GET
def lead_export(request: HttpRequest) -> StreamingHttpResponse:
    """The leads list's current filter as CSV, streamed (see `leads.exports`)."""
    user = request.user
    lead_filter = LeadFilter(request.GET or None, queryset=leads_exportable_by(user=user), user=user)
    if lead_filter.is_bound and not lead_filter.is_valid():
        # The same filter the list shows its errors with; a hand-edited link gets a plain 400, not every lead.
        return HttpResponse("Bad filter: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in lead_filter.errors.items()),
                            status=400, content_type="text/plain")  # fmt: skip
    response = StreamingHttpResponse(export_csv_lines(lead_filter.qs), content_type="text/csv; charset=utf-8")
    stamp = clock.now().astimezone(dt.UTC).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="leads-{stamp}.csv"'
    return response
