"""Staff screens for one session's attendance (出席管理), under
/s/{code}/projects/{id}/sessions/{id}/:

- ``qr.svg``, ``qr.png``, ``poster.pdf``: the check-in code and the A4 poster;
- ``rotate`` (POST): a new code, earlier posters stop working;
- ``attendance``: the list, recording by hand (search of the site's registrants) or by
  the person's card code, links to void; ``attendance.csv``: the export (audited);
- ``void``: void one record with a reason (``?attendance=<id>``).

All need ``site:attendance:record`` on the session: the site's admins and coordinators,
and a partner's staff for their own organisation's projects (the project's ACL).
"""
import colander
from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound, HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config

from ..clock import to_tokyo
from ..forms import button, flash, make_form, refusal_status_of, submit
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.activities import SessionResource
from ..schemas.attendance import (
    CardCodeSchema,
    RecordSchema,
    VoidSchema,
    row_id,
    search_text,
)
from ..services import posters
from ..services.attendance import (
    SOURCE_LABELS,
    AttendanceService,
    counted,
    source_labels,
)
from ..services.errors import ServiceError
from ..services.session_texts import when_text

PAGE = "attendance/session.jinja2"
VOID_PAGE = "attendance/void.jinja2"
RECORDED_MESSAGES = {
    "recorded": _("Recorded the attendance of ${name}."),
    "already": _("The attendance of ${name} was already recorded."),
    "voided": _("The attendance of ${name} at this session was voided earlier, so it cannot "
                "be recorded again."),
}


def _service(request) -> AttendanceService:
    return request.service(AttendanceService)


def _file(body, content_type, filename, disposition="inline"):
    """A generated file, never cached: a rotated code must not linger anywhere."""
    response = Response(body=body, content_type=content_type)
    response.content_disposition = f'{disposition}; filename="{filename}"'
    response.cache_control = "no-store"
    return response


@view_config(context=SessionResource, name="qr.svg", request_method="GET",
             permission=P.ATTENDANCE_RECORD)
def qr_svg(context, request):
    url = _service(request).checkin_url(context.session)
    return _file(posters.qr_svg(url), "image/svg+xml", f"checkin-{context.session.id}.svg")


@view_config(context=SessionResource, name="qr.png", request_method="GET",
             permission=P.ATTENDANCE_RECORD)
def qr_png(context, request):
    url = _service(request).checkin_url(context.session)
    return _file(posters.qr_png(url), "image/png", f"checkin-{context.session.id}.png")


@view_config(context=SessionResource, name="poster.pdf", request_method="GET",
             permission=P.ATTENDANCE_RECORD)
def poster_pdf(context, request):
    url = _service(request).checkin_url(context.session)
    body = posters.poster_pdf(context.session, url, translate=request.localizer.translate,
                              locale=request.locale_name)
    return _file(body, "application/pdf", f"poster-{context.session.id}.pdf", "attachment")


@view_config(context=SessionResource, name="rotate", request_method="POST",
             permission=P.ATTENDANCE_RECORD)
def rotate_code(context, request):
    _service(request).rotate(request.actor, context.session)
    flash(request, _("A new check-in code was issued. Print the new poster: earlier posters "
                     "no longer work."))
    return HTTPSeeOther(request.resource_url(context, "attendance"))


def _card_form(request):
    return make_form(request, CardCodeSchema(),
                     buttons=(button(request, "card", _("Record from card")),),
                     action=request.resource_url(request.context, "attendance"))


def _page(context, request, *, card_form=None, error=None, query=None):
    service = _service(request)
    session = context.session
    query = search_text(request.GET) if query is None else query
    rows, candidates = service.staff_page(request.actor, session, query)
    opens, closes = service.window(session)
    return {
        "project": context.project,
        "session": session,
        "rows": rows,
        "counted": counted(rows),
        "query": query,
        "candidates": candidates,
        "card_form": card_form or _card_form(request).render(),
        "error": error,
        "checkin_url": service.checkin_url(session),
        "opens": opens,
        "closes": closes,
        "source_labels": source_labels(request.localizer.translate),
        "times": when_text(session, request.locale_name),
        "base_url": request.resource_url(context),
    }


def _after_recording(context, request, result, query=""):
    name = result.account.display_name
    flash(request, _(RECORDED_MESSAGES[result.status], mapping={"name": name}))
    if not result.registered:
        flash(request, _("${name} is not registered with this site yet.", mapping={"name": name}))
    target = request.resource_url(context, "attendance", query={"q": query} if query else None)
    return HTTPSeeOther(target)


@view_config(context=SessionResource, name="attendance", request_method="GET",
             renderer=PAGE, permission=P.ATTENDANCE_RECORD)
def attendance_page(context, request):
    return _page(context, request)


@view_config(context=SessionResource, name="attendance", request_method="POST",
             request_param="account_id", renderer=PAGE, permission=P.ATTENDANCE_RECORD)
def record_by_hand(context, request):
    query = search_text(request.POST)
    try:
        account_id = RecordSchema().deserialize(dict(request.POST))["account_id"]
    except colander.Invalid:
        raise HTTPBadRequest(_("Choose a person from the search results."))
    service = _service(request)
    try:
        account = service.registrant_at(context.site.id, account_id)
        result = service.record_by_staff(request.actor, context.session, account, "staff")
    except ServiceError as exc:
        request.response.status_int = refusal_status_of(exc)
        return _page(context, request, error=exc.message, query=query)
    return _after_recording(context, request, result, query)


@view_config(context=SessionResource, name="attendance", request_method="POST",
             request_param="card_token", renderer=PAGE, permission=P.ATTENDANCE_RECORD)
def record_by_card(context, request):
    outcome = submit(
        request, _card_form(request),
        lambda data: _service(request).record_by_card(
            request.actor, context.session, data["card_token"]
        ),
    )
    if outcome.failed:
        return _page(context, request, card_form=outcome.form_html)
    return _after_recording(context, request, outcome.result)


@view_config(context=SessionResource, name="attendance.csv", request_method="GET",
             permission=P.ATTENDANCE_RECORD)
def export_csv(context, request):
    body = _service(request).export_csv(request.actor, context.session,
                                        translate=request.localizer.translate)
    day = to_tokyo(context.session.starts_at).strftime("%Y%m%d")
    response = _file(body, "text/csv", f"attendance-{context.session.id}-{day}.csv",
                     "attachment")
    response.charset = "utf-8"
    return response


def _attendance_to_void(context, request):
    attendance_id = row_id(request.GET.get("attendance"))
    attendance = None if attendance_id is None else _service(request).attendance_in(
        context.session, attendance_id
    )
    if attendance is None:
        raise HTTPNotFound()
    return attendance


def _void_form(request, attendance):
    return make_form(
        request, VoidSchema(), buttons=(button(request, "void", _("Void this record")),),
        action=request.resource_url(request.context, "void",
                                    query={"attendance": attendance.id}),
    )


def _void_page(context, request, attendance, form_html=None):
    return {
        "project": context.project,
        "session": context.session,
        "row": _service(request).row_of(attendance),
        "source_labels": SOURCE_LABELS,
        "form": None if attendance.voided_at else (
            form_html or _void_form(request, attendance).render()
        ),
        "back": request.resource_url(context, "attendance"),
    }


@view_config(context=SessionResource, name="void", request_method="GET",
             renderer=VOID_PAGE, permission=P.ATTENDANCE_RECORD)
def void_page(context, request):
    return _void_page(context, request, _attendance_to_void(context, request))


@view_config(context=SessionResource, name="void", request_method="POST",
             renderer=VOID_PAGE, permission=P.ATTENDANCE_RECORD)
def void_record(context, request):
    attendance = _attendance_to_void(context, request)
    outcome = submit(
        request, _void_form(request, attendance),
        lambda data: _service(request).void(request.actor, attendance, data["reason"]),
    )
    if outcome.failed:
        return _void_page(context, request, attendance, outcome.form_html)
    flash(request, _("The record was voided. It stays in the list, marked as voided."))
    return HTTPSeeOther(request.resource_url(context, "attendance"))
