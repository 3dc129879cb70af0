"""Importing earlier activity records: /s/{code}/imports/ (upload and check, earlier
imports), /s/{code}/imports/uploads/{id} (a checked file: import it, or only its valid
rows, or download the rows to fix) and /s/{code}/imports/{id} (one import's result). The
rules are in services/activity_import.py, import_uploads.py and import_results.py."""
from urllib.parse import quote

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config

from ..forms import button, flash, make_form, submit
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.imports import ImportResource, ImportsContainer, UploadResource
from ..schemas.imports import ImportUploadSchema
from ..services.activity_import import COLUMNS, ActivityImportService
from ..services.tabular_files import shown_report
from ..services.import_results import ImportResults
from ..services.import_uploads import ImportUploads

RENDERER = "imports/imports.jinja2"


def _form(request):
    return make_form(request, ImportUploadSchema(), buttons=(
        button(request, "check", _("Check only")),
        button(request, "import", _("Import")),
    ))


def _imports_url(request, site) -> str:
    return f"{request.application_url}/s/{site.code}/imports/"


def _page(request, site, form_html, report=None, upload=None):
    service = request.service(ActivityImportService)
    return {
        "form": form_html,
        "report": report.as_dict(request.localizer.translate) if report else None,
        "upload": upload,
        "imports": service.imports_of(site),
        "pending_claims": service.pending_claims_count(site),
        "columns": COLUMNS,
        "max_mb": round(request.app_settings.upload_max_bytes / 1024 / 1024, 1),
    }


@view_config(context=ImportsContainer, renderer=RENDERER, permission=P.ATTENDANCE_IMPORT,
             request_method="GET")
def imports_page(context, request):
    return _page(request, context.site, _form(request).render())


@view_config(context=ImportsContainer, renderer=RENDERER, permission=P.ATTENDANCE_IMPORT,
             request_method="POST")
def upload(context, request):
    """Every file is checked and kept first. "Import" (a button; Enter is "Check only")
    records it at once when every row is right; otherwise the page shows the report with
    what can be done with the kept file."""
    def run(values):
        data = values["upload"]
        return request.service(ImportUploads).check_and_keep(
            request.actor, context.site, data.get("filename") or "", data["fp"])

    outcome = submit(request, _form(request), run)
    if outcome.failed:
        return _page(request, context.site, outcome.form_html)
    kept, report = outcome.result
    if "import" in request.POST and report.ok:
        return _import(request, context.site, kept, valid_rows_only=False)
    if not report.ok:
        request.response.status_int = 400
    return _page(request, context.site, _form(request).render(), report, kept)


def _import(request, site, upload, *, valid_rows_only):
    report = request.service(ImportUploads).import_upload(
        request.actor, site, upload, valid_rows_only=valid_rows_only)
    if report.imported:
        flash(request, _("The activity records were imported.") if report.ok else _(
            "The ${count} valid rows were imported. Download the rows to fix, correct them "
            "and import that file.", mapping={"count": report.valid_rows}))
        return HTTPSeeOther(f"{_imports_url(request, site)}{report.import_id}")
    request.response.status_int = 400
    return _page(request, site, _form(request).render(), report, upload)


def _current(context, request):
    """The kept file, or back to the upload form when it was kept too long ago."""
    if request.service(ImportUploads).is_current(context.upload):
        return None
    flash(request, _("The checked file is no longer kept. Upload it again."))
    return HTTPSeeOther(_imports_url(request, context.site))


@view_config(context=UploadResource, name="import", renderer=RENDERER,
             permission=P.ATTENDANCE_IMPORT, request_method="POST")
def import_kept(context, request):
    """Import the kept file: whole (``rows=all``) or only its valid rows (``rows=valid``)."""
    return _current(context, request) or _import(
        request, context.site, context.upload,
        valid_rows_only=request.POST.get("rows") == "valid")


@view_config(context=UploadResource, name="corrections", permission=P.ATTENDANCE_IMPORT,
             request_method="GET")
def corrections(context, request):
    """The refused rows as a copy of the template with a problems column."""
    expired = _current(context, request)
    if expired:
        return expired
    filename, content_type, body = request.service(ImportUploads).corrections(
        request.actor, context.site, context.upload, request.localizer.translate)
    response = Response(body=body, content_type=content_type)
    response.content_disposition = ("attachment; filename=\"corrections"
                                     f"{filename[filename.rfind('.'):]}\"; "
                                     f"filename*=UTF-8''{quote(filename, safe='')}")
    return response


@view_config(context=ImportResource, renderer="imports/report.jinja2",
             permission=P.ATTENDANCE_IMPORT, request_method="GET")
def import_report(context, request):
    results = request.service(ImportResults)
    record = context.record
    report = shown_report(record.report, request.localizer.translate)
    return {"record": record, "report": report,
            "activities": results.activities(record),
            "pending": results.pending_people(request.actor, record),
            "upload": request.service(ImportUploads).kept_for(record)}
