"""Consultation screens (相談). Registrants: /my/consultations (list), /my/consultations/new
(?site=<code> chooses the local government), /my/consultations/{id} (thread, reply,
close, attachments). Handlers (coordinators, site admins): /s/{code}/consultations/
(queue) and /s/{code}/consultations/{id} (read — audited by the service — reply,
assign, close, attachments). Rules are in ``services/consultations.py``.

Message bodies are plain text: ``message_html`` escapes everything and makes only
http(s) addresses into links (``rel="nofollow ugc noopener"``), so no markup, script or
``javascript:`` link typed by anyone can come out live.
"""
import re
from urllib.parse import quote

from markupsafe import Markup, escape
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config

from ..forms import button, flash, make_form, refusal_status_of, submit
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.community import ConsultationResource, ConsultationsContainer
from ..resources.my import MyArea
from ..schemas.community import AssignSchema, ConsultationSchema, MessageSchema
from ..services.consultations import (
    QUEUE_VIEWS,
    STATE_LABELS,
    TOPIC_LABELS,
    ConsultationService,
    Upload,
)
from ..services.errors import InvalidInput, ServiceError
from .public import page_param

MY = "/my/consultations"
LIST = r"^/my/consultations/?$"
NEW = r"^/my/consultations/new/?$"
THREAD = r"^/my/consultations/\d{1,9}/?$"
REPLY = r"^/my/consultations/\d{1,9}/reply/?$"
CLOSE = r"^/my/consultations/\d{1,9}/close/?$"
FILE = r"^/my/consultations/\d{1,9}/attachments/\d{1,9}/?$"
"""Ids of at most nine digits: anything longer is no row of ours."""
THREAD_RENDERER = "community/consultation.jinja2"
QUEUE_VIEW_LABELS = {
    "open": _("Not closed"),
    "mine": _("Assigned to me"),
    "new": STATE_LABELS["new"],
    "in_progress": STATE_LABELS["in_progress"],
    "closed": STATE_LABELS["closed"],
    "all": _("All"),
}
URL = re.compile(r"https?://[A-Za-z0-9._~:/?#\[\]@!$&()*+,;=%-]+", re.IGNORECASE)
"""An http(s) address in the characters URLs are written with, so it ends where Japanese
text (or a space, a quote, an angle bracket) begins."""
TRAILING = ".,;:!?)]}"


def message_html(text) -> Markup:
    """Plain text as HTML: escaped, line breaks kept, http(s) addresses as safe links."""
    lines = []
    for line in (text or "").split("\n"):
        parts, position = [], 0
        for match in URL.finditer(line):
            url = match.group(0).rstrip(TRAILING)
            parts.append(escape(line[position:match.start()]))
            parts.append(Markup('<a href="{0}" rel="nofollow ugc noopener">{0}</a>').format(url))
            position = match.start() + len(url)
        parts.append(escape(line[position:]))
        lines.append(Markup("").join(parts))
    return Markup("<br>\n").join(lines)


def upload_of(request, values):
    """The attached file as an ``Upload`` (read to one byte past the limit), or None."""
    data = values.get("attachment")
    if not data or not hasattr(data, "get") or data.get("fp") is None:
        return None
    content = data["fp"].read(request.app_settings.upload_max_bytes + 1)
    return Upload(data.get("filename") or "", content)


def max_mb(request):
    return round(request.app_settings.upload_max_bytes / 1024 / 1024, 1)


def download(attachment) -> Response:
    """An attachment, always as a download with its checked type (never shown inline)."""
    response = Response(body=attachment.data, content_type=attachment.media_type)
    ascii_name = f"attachment-{attachment.id}{_extension(attachment.filename)}"
    response.content_disposition = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(attachment.filename)}"
    )
    response.cache_control = "private, no-store"
    return response


def _extension(filename):
    return "." + filename.rsplit(".", 1)[-1] if "." in filename else ""


def _service(request) -> ConsultationService:
    return request.service(ConsultationService)


def _message_form(request, action):
    return make_form(request, MessageSchema(), action=action, max_mb=max_mb(request),
                     buttons=(button(request, "send", _("Send")),))


def _thread_page(request, consultation, *, staff, form_html=None, assign_html=None,
                 error=None):
    base = (request.application_url + f"/s/{consultation.site.code}/consultations/"
            f"{consultation.id}" if staff else request.application_url + f"{MY}/{consultation.id}")
    if form_html is None and consultation.state != "closed":
        form_html = _message_form(request, base + "/reply").render()
    if staff and assign_html is None and consultation.state != "closed":
        assign_html = _assign_form(request, consultation, base).render(
            {"assignee": consultation.assigned_to_id or request.identity.account.id})
    return {
        "consultation": consultation, "staff_view": staff, "base": base, "form": form_html,
        "assign_form": assign_html, "error": error, "topics": TOPIC_LABELS,
        "states": STATE_LABELS, "message_html": message_html,
    }


# -- the registrant's side ------------------------------------------------------------------

@view_config(context=MyArea, name="consultations", path_info=LIST, request_method="GET",
             renderer="community/my_consultations.jinja2", permission=P.REGISTRANT_SELF)
def my_consultations(request):
    return {"consultations": _service(request).mine(request.identity.account),
            "topics": TOPIC_LABELS, "states": STATE_LABELS}


class NewConsultation:
    """/my/consultations/new: the person's registered sites to choose from, plus the
    site named by ``?site=`` (from a site's pages), when it is active."""

    def __init__(self, context, request):
        self.request = request
        self.account = request.identity.account
        self.sites = self._sites()

    def _sites(self):
        return _service(self.request).sites_to_consult(self.account,
                                                       self.request.params.get("site", ""))

    def _form(self):
        return make_form(self.request, ConsultationSchema(), max_mb=max_mb(self.request),
                         site_choices=[(s.code, s.name) for s in self.sites],
                         buttons=(button(self.request, "send", _("Send the consultation")),))

    def _page(self, form_html):
        return {"form": form_html, "sites": self.sites}

    @view_config(context=MyArea, name="consultations", path_info=NEW, request_method="GET",
                 renderer="community/my_consultation_new.jinja2", permission=P.REGISTRANT_SELF)
    def show(self):
        code = self.request.params.get("site", "")
        chosen = code if any(s.code == code for s in self.sites) else ""
        if not chosen and len(self.sites) == 1:
            chosen = self.sites[0].code
        return self._page(self._form().render({"site": chosen}))

    @view_config(context=MyArea, name="consultations", path_info=NEW, request_method="POST",
                 renderer="community/my_consultation_new.jinja2", permission=P.REGISTRANT_SELF)
    def send(self):
        def open_consultation(values):
            site = next((s for s in self.sites if s.code == values["site"]), None)
            if site is None:
                raise InvalidInput(_("Choose a local government from the list."), field="site")
            return _service(self.request).open(
                self.account, site, topic=values["topic"], subject=values["subject"],
                body=values["body"], upload=upload_of(self.request, values))

        outcome = submit(self.request, self._form(), open_consultation)
        if outcome.failed:
            return self._page(outcome.form_html)
        flash(self.request, _("Your consultation was sent. You will be told when the local "
                              "government answers."))
        return HTTPSeeOther(f"{self.request.application_url}{MY}/{outcome.result.id}")


class OwnConsultation:
    """Views on one of the person's own consultations, found from the path."""

    def __init__(self, context, request):
        self.request = request
        consultation = _service(request).own(request.identity.account,
                                             int(request.subpath[0]))
        if consultation is None:
            raise HTTPNotFound()
        self.consultation = consultation

    @view_config(context=MyArea, name="consultations", path_info=THREAD, request_method="GET",
                 renderer=THREAD_RENDERER, permission=P.REGISTRANT_SELF)
    def show(self):
        return _thread_page(self.request, self.consultation, staff=False)

    @view_config(context=MyArea, name="consultations", path_info=REPLY, request_method="POST",
                 renderer=THREAD_RENDERER, permission=P.REGISTRANT_SELF)
    def reply(self):
        request, consultation = self.request, self.consultation
        form = _message_form(request, f"{request.application_url}{MY}/{consultation.id}/reply")
        outcome = submit(request, form, lambda values: _service(request).reply(
            request.identity.account, consultation, values["body"], upload_of(request, values)))
        if outcome.failed:
            return _thread_page(request, consultation, staff=False, form_html=outcome.form_html)
        flash(request, _("Your message was sent."))
        return HTTPSeeOther(f"{request.application_url}{MY}/{consultation.id}#latest")

    @view_config(context=MyArea, name="consultations", path_info=CLOSE, request_method="POST",
                 renderer=THREAD_RENDERER, permission=P.REGISTRANT_SELF)
    def close(self):
        return _close(self.request, self.consultation, actor=None,
                      to=f"{self.request.application_url}{MY}/{self.consultation.id}")

    @view_config(context=MyArea, name="consultations", path_info=FILE, request_method="GET",
                 permission=P.REGISTRANT_SELF)
    def attachment(self):
        found = _service(self.request).attachment_of(self.consultation,
                                                     int(self.request.subpath[2]))
        if found is None:
            raise HTTPNotFound()
        return download(found)


def _close(request, consultation, *, actor, to):
    try:
        _service(request).close(consultation, actor=actor)
    except ServiceError as exc:
        request.response.status_int = refusal_status_of(exc)
        return _thread_page(request, consultation, staff=actor is not None, error=exc.message)
    flash(request, _("The consultation is closed."))
    return HTTPSeeOther(to)


# -- the site's side ----------------------------------------------------------------------

def queue_view_param(request) -> str:
    view = request.GET.get("view", "open")
    return view if view in QUEUE_VIEWS else "open"


@view_config(context=ConsultationsContainer, renderer="community/queue.jinja2",
             permission=P.CONSULTATION_HANDLE, request_method="GET")
def queue(context, request):
    service = _service(request)
    view = queue_view_param(request)
    return {
        "page": service.queue(context.site, view=view, handler_id=request.identity.account.id,
                              page=page_param(request)),
        "view": view, "views": QUEUE_VIEW_LABELS, "counts": service.state_counts(context.site),
        "topics": TOPIC_LABELS, "states": STATE_LABELS,
    }


def _assign_form(request, consultation, base):
    return make_form(request, AssignSchema(), action=base + "/assign",
                     handlers=_service(request).handlers(consultation.site),
                     buttons=(button(request, "assign", _("Assign")),))


class StaffConsultation:
    def __init__(self, context, request):
        self.request = request
        self.context = context

    def _load(self, audited):
        service = _service(self.request)
        if audited:
            consultation = service.open_for_staff(self.request.actor, self.context.site,
                                                  self.context.consultation_id)
        else:
            consultation = service.for_site(self.context.site, self.context.consultation_id)
        if consultation is None:
            raise HTTPNotFound()
        return consultation

    def _base(self):
        return self.request.resource_url(self.context).rstrip("/")

    @view_config(context=ConsultationResource, renderer=THREAD_RENDERER,
                 permission=P.CONSULTATION_HANDLE, request_method="GET")
    def show(self):
        return _thread_page(self.request, self._load(audited=True), staff=True)

    @view_config(context=ConsultationResource, name="reply", renderer=THREAD_RENDERER,
                 permission=P.CONSULTATION_HANDLE, request_method="POST")
    def reply(self):
        request = self.request
        consultation = self._load(audited=False)
        form = _message_form(request, self._base() + "/reply")
        outcome = submit(request, form, lambda values: _service(request).reply(
            request.identity.account, consultation, values["body"], upload_of(request, values),
            actor=request.actor))
        if outcome.failed:
            return _thread_page(request, consultation, staff=True, form_html=outcome.form_html)
        flash(request, _("Your answer was sent. The registrant is told."))
        return HTTPSeeOther(self._base() + "#latest")

    @view_config(context=ConsultationResource, name="assign", renderer=THREAD_RENDERER,
                 permission=P.CONSULTATION_HANDLE, request_method="POST")
    def assign(self):
        request = self.request
        consultation = self._load(audited=False)
        form = _assign_form(request, consultation, self._base())
        outcome = submit(request, form, lambda values: _service(request).assign(
            request.actor, consultation, values["assignee"]))
        if outcome.failed:
            return _thread_page(request, consultation, staff=True, assign_html=outcome.form_html)
        flash(request, _("The person in charge was set."))
        return HTTPSeeOther(self._base())

    @view_config(context=ConsultationResource, name="close", renderer=THREAD_RENDERER,
                 permission=P.CONSULTATION_HANDLE, request_method="POST")
    def close(self):
        consultation = self._load(audited=False)
        return _close(self.request, consultation, actor=self.request.actor,
                      to=self._base())

    @view_config(context=ConsultationResource, name="attachments",
                 permission=P.CONSULTATION_HANDLE, request_method="GET")
    def attachment(self):
        subpath = self.request.subpath
        if len(subpath) != 1 or not (subpath[0].isascii() and subpath[0].isdigit()
                                     and len(subpath[0]) <= 9):
            raise HTTPNotFound()
        consultation = self._load(audited=False)
        service = _service(self.request)
        found = service.attachment_of(consultation, int(subpath[0]))
        if found is None:
            raise HTTPNotFound()
        service.record_download(self.request.actor, consultation, found)
        return download(found)

