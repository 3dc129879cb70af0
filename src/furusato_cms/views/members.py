"""Member lists and their invitations (会員名簿からの招待): /s/{code}/members/ (upload,
attest and check a list; earlier lists with their funnels), /s/{code}/members/{id} (one
list: its check, then what became of its invitations) and /s/{code}/members/{id}/send.
The rules are in services/member_invitations.py."""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from ..forms import button, flash, make_form, submit
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.members import MemberImportResource, MembersContainer
from ..schemas.members import MemberListSchema
from ..services.errors import ServiceError
from ..services.member_invitations import (
    HEADINGS,
    MAX_ROWS,
    MemberInvitationService,
    attestation_text,
)
from ..services.tabular_files import shown_report

RENDERER = "members/members.jinja2"


def _attestation(request, site) -> str:
    return request.localizer.translate(attestation_text(site.name))


def _form(request, site):
    return make_form(request, MemberListSchema(), attestation=_attestation(request, site),
                     buttons=(button(request, "check", _("Check the list")),))


def _members_url(request, site) -> str:
    return f"{request.application_url}/s/{site.code}/members/"


def _page(request, site, form_html, record=None):
    service = request.service(MemberInvitationService)
    records = service.imports_of(site)
    return {
        "form": form_html,
        "records": records,
        "funnels": service.funnels([r.id for r in records]),
        "failed": record,
        "report": shown_report(record.report, request.localizer.translate) if record else None,
        "headings": HEADINGS,
        "max_rows": MAX_ROWS,
        "max_mb": round(request.app_settings.upload_max_bytes / 1024 / 1024, 1),
    }


@view_config(context=MembersContainer, renderer=RENDERER, permission=P.MEMBERS_INVITE,
             request_method="GET")
def members_page(context, request):
    return _page(request, context.site, _form(request, context.site).render())


@view_config(context=MembersContainer, renderer=RENDERER, permission=P.MEMBERS_INVITE,
             request_method="POST")
def check_list(context, request):
    """A list without problems goes to its own page to be sent; one with problems is
    shown here with every row to correct (it is not kept)."""
    site = context.site

    def check(values):
        data = values["upload"]
        return request.service(MemberInvitationService).check(
            request.actor, site, data.get("filename") or "", data["fp"],
            attestation=_attestation(request, site), message=values["message"])

    outcome = submit(request, _form(request, site), check)
    if outcome.failed:
        return _page(request, site, outcome.form_html)
    record, _found = outcome.result
    if request.service(MemberInvitationService).is_sendable(record):
        return HTTPSeeOther(f"{_members_url(request, site)}{record.id}")
    request.response.status_int = 400
    return _page(request, site, _form(request, site).render(), record)


@view_config(context=MemberImportResource, renderer="members/list.jinja2",
             permission=P.MEMBERS_INVITE, request_method="GET")
def member_list(context, request):
    service = request.service(MemberInvitationService)
    record = context.record
    return {"record": record, "report": shown_report(record.report, request.localizer.translate),
            "sendable": service.is_sendable(record),
            "funnel": service.funnels([record.id]).get(record.id)}


@view_config(context=MemberImportResource, name="send", permission=P.MEMBERS_INVITE,
             request_method="POST")
def send_list(context, request):
    site = context.site
    try:
        queued = request.service(MemberInvitationService).send(request.actor, site,
                                                               context.record)
    except ServiceError as exc:
        flash(request, exc.message)
        return HTTPSeeOther(_members_url(request, site))
    flash(request, _("${count} invitations are queued. They go out within a few minutes.",
                     mapping={"count": queued}))
    return HTTPSeeOther(f"{_members_url(request, site)}{context.record.id}")
