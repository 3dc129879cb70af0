"""Importing earlier activity records: /s/{code}/imports/ (upload, check, import, earlier
imports) and /s/{code}/imports/{id} (one import's report). The rules are in
services/activity_import.py."""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from ..forms import button, flash, make_form, submit
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.imports import ImportResource, ImportsContainer
from ..schemas.imports import ImportUploadSchema
from ..services.activity_import import COLUMNS, ActivityImportService

RENDERER = "imports/imports.jinja2"


def _form(request):
    return make_form(request, ImportUploadSchema(), buttons=(
        button(request, "check", _("Check only")),
        button(request, "import", _("Import")),
    ))


def _page(context, request, form_html, report=None):
    service = request.service(ActivityImportService)
    return {
        "form": form_html,
        "report": report.as_dict(request.localizer.translate) if report else None,
        "imports": service.imports_of(context.site),
        "pending_claims": service.pending_claims_count(context.site),
        "columns": COLUMNS,
        "max_mb": round(request.app_settings.upload_max_bytes / 1024 / 1024, 1),
    }


@view_config(context=ImportsContainer, renderer=RENDERER, permission=P.ATTENDANCE_IMPORT,
             request_method="GET")
def imports_page(context, request):
    return _page(context, request, _form(request).render())


@view_config(context=ImportsContainer, renderer=RENDERER, permission=P.ATTENDANCE_IMPORT,
             request_method="POST")
def upload(context, request):
    """"Check only" (also when no button is named, e.g. Enter) is a dry run; "Import"
    records the file when every row is right."""
    dry_run = "import" not in request.POST

    def run(values):
        upload_data = values["upload"]
        return request.service(ActivityImportService).import_file(
            request.actor, context.site, upload_data.get("filename") or "", upload_data["fp"],
            dry_run=dry_run,
        )

    outcome = submit(request, _form(request), run)
    if outcome.failed:
        return _page(context, request, outcome.form_html)
    report = outcome.result
    if report.imported:
        flash(request, _("The activity records were imported."))
        return HTTPSeeOther(request.resource_url(context, str(report.import_id)))
    if not report.ok:
        request.response.status_int = 400
    # A fresh form: the browser cannot keep the file, so it is chosen again to import.
    return _page(context, request, _form(request).render(), report)


@view_config(context=ImportResource, renderer="imports/report.jinja2",
             permission=P.ATTENDANCE_IMPORT, request_method="GET")
def import_report(context, request):
    return {"record": context.record, "report": context.record.report}
