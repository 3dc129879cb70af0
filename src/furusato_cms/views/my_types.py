"""Asking again, once, for the types (類型①–④) a migration left unanswered
(/my/types).

When the types were aligned with the national guideline, old "roots" answers became
unanswered and their accounts were flagged (``Account.ask_relationship_types``). On
the person's next signed-in page the flag, already loaded with the session's account
(no extra query for anybody), sends them here once from the front page, their own
pages or a site's pages; showing the page clears the flag, so skipping it is final.
Forms being sent, check-in, identity verification, the card, mail links and files are
never interrupted.
"""
from urllib.parse import quote

import deform
from pyramid.events import ContextFound, subscriber
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from ..forms import CSRFSchema, make_form, show_error, validate
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.my import MyArea
from ..schemas.registration import types_node
from ..services.errors import ServiceError
from ..services.registration import RegistrationService
from .language import safe_return_path

ASK_PATH = "/my/types"
ASKED_ON = ("/my/", "/s/")
"""Where a registrant browses: their own page and the sites' pages (plus the front page)."""
NEVER_ON = (ASK_PATH, "/my/identity", "/my/card")
"""Never in the middle of My Number Card verification or showing the card at a counter."""


def _interrupts(request) -> bool:
    path = request.path_info
    return request.method == "GET" and (path == "/" or path.startswith(ASKED_ON)) \
        and not path.startswith(NEVER_ON) and "/checkin" not in path


@subscriber(ContextFound)
def ask_types_once(event):
    """Send a flagged registrant to the question before the page they asked for, once."""
    request = event.request
    if not _interrupts(request):
        return
    identity = request.identity
    if identity is None or not identity.account.ask_relationship_types:
        return
    raise HTTPSeeOther(
        f"{request.application_url}{ASK_PATH}?came_from={quote(request.path_qs, safe='/')}"
    )


def _field(registration) -> str:
    return f"types_{registration.id}"


def _form(request, registrations):
    """One group of type checkboxes per registration, each optional."""
    schema = CSRFSchema()
    for registration in registrations:
        schema.add(types_node(_field(registration), registration.site.name, required=False))
    button = deform.Button("save", request.localizer.translate(_("Save my answers")))
    return make_form(request, schema, buttons=(button,))


class AskTypes:
    def __init__(self, context, request):
        self.request = request
        self.account = request.identity.account
        self.service = request.service(RegistrationService)
        self.registrations = self.service.unanswered_types(self.account)
        self.came_from = request.params.get("came_from", "")

    def _done(self, message=None):
        if message is not None:
            self.request.session.flash(self.request.localizer.translate(message))
        return HTTPSeeOther(safe_return_path(self.request, self.came_from, "/my/"))

    @view_config(context=MyArea, name="types", request_method="GET",
                 renderer="my/types.jinja2", permission=P.REGISTRANT_SELF)
    def show(self):
        self.service.asked_types(self.account)
        if not self.registrations:
            return self._done()
        return {"form": _form(self.request, self.registrations).render(),
                "skip": safe_return_path(self.request, self.came_from, "/my/")}

    @view_config(context=MyArea, name="types", request_method="POST",
                 renderer="my/types.jinja2", permission=P.REGISTRANT_SELF)
    def save(self):
        form = _form(self.request, self.registrations)
        page = {"skip": safe_return_path(self.request, self.came_from, "/my/")}
        try:
            values = validate(self.request, form)
            self.service.answer_types(
                self.account, {r.id: values.get(_field(r)) for r in self.registrations})
        except deform.ValidationFailure as failure:
            return {**page, "form": failure.render()}
        except ServiceError as error:
            return {**page, "form": show_error(form, error.message)}
        return self._done(_("Thank you. Your answers have been saved."))
