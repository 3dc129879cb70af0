"""The registrant's own page (/my/, マイページ): their registrations, editing the answers
of one (/my/registrations/{id}) and leaving a site (/my/registrations/{id}/leave).

Registrations are looked up among the signed-in person's own only, so another
person's registration id simply is not found.
"""
import deform
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config

from ..forms import validate
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.my import MyArea, my_page_reads
from ..schemas.registration import prefilled, site_answers
from ..security import read_ahead
from ..services.errors import ServiceError
from ..services.registration import RegistrationService
from .public import page_param
from .registration import DISPLAY, answers_form, asks_postal_code, refused_form

EDIT = r"^/my/registrations/\d{1,9}/?$"
LEAVE = r"^/my/registrations/\d{1,9}/leave/?$"
"""Ids of at most nine digits: anything longer is no row of ours (and would overflow
PostgreSQL's integer before the lookup could say so)."""


def _back_to_my(request, message):
    request.session.flash(request.localizer.translate(message))
    return HTTPSeeOther(request.application_url + "/my/")


@view_config(context=MyArea, name="", request_method="GET", renderer="my/index.jinja2",
             permission=P.REGISTRANT_SELF)
def my_page(request):
    """Asks first for any site's privacy notice not accepted yet (new, or changed)."""
    account = request.identity.account
    listing, feed = read_ahead(request) or request.read_together(
        *my_page_reads(request, account, page=page_param(request)))
    if listing.notices_due:
        return HTTPSeeOther(request.application_url + "/my/privacy")
    return {
        "account": account,
        "registrations": listing.registrations,
        "verification": listing.verification,
        "feed": feed,
        **DISPLAY,
    }


class OwnRegistration:
    """Views on one of the person's registrations, found from the path."""

    def __init__(self, context, request):
        self.request = request
        self.service = request.service(RegistrationService)
        registration = self.service.registration_of(
            request.identity.account, int(request.subpath[0])
        )
        if registration is None:
            raise HTTPNotFound()
        self.registration = registration
        self.account = request.identity.account

    def _form(self):
        questions = self.service.questions_of(self.registration.site)
        return questions, answers_form(self.request, questions, "save", _("Save my answers"),
                                       ask_postal_code=asks_postal_code(self.service, self.account))

    def _page(self, form_html):
        return {"registration": self.registration, "form": form_html,
                "declared_home": self.service.declared_home_name(self.account)}

    @view_config(context=MyArea, name="registrations", path_info=EDIT, request_method="GET",
                 renderer="my/edit.jinja2", permission=P.REGISTRANT_SELF)
    def edit_page(self):
        if self.registration.state != "active":
            return self._page(None)
        questions, form = self._form()
        values = prefilled(self.registration, questions,
                           self.service.answers_of(self.registration))
        return self._page(form.render(values))

    @view_config(context=MyArea, name="registrations", path_info=EDIT, request_method="POST",
                 renderer="my/edit.jinja2", permission=P.REGISTRANT_SELF)
    def save(self):
        _questions, form = self._form()
        try:
            values = validate(self.request, form)
            self.service.update_answers(self.registration, values["relationship_types"],
                                        values["connections"], site_answers(values),
                                        postal_code=values.get("postal_code"))
        except deform.ValidationFailure as failure:
            return self._page(failure.render())
        except ServiceError as error:
            return self._page(refused_form(form, error))
        return _back_to_my(self.request, _("Your answers for ${site} have been saved.",
                                           mapping={"site": self.registration.site.name}))

    @view_config(context=MyArea, name="registrations", path_info=LEAVE, request_method="GET",
                 renderer="my/leave.jinja2", permission=P.REGISTRANT_SELF)
    def leave_page(self):
        active = self.registration.state == "active"
        return {
            "registration": self.registration,
            "active": active,
            "also": self.service.leaving_with(self.registration) if active else [],
        }

    @view_config(context=MyArea, name="registrations", path_info=LEAVE, request_method="POST",
                 permission=P.REGISTRANT_SELF)
    def leave(self):
        site = self.registration.site
        try:
            self.service.leave(self.registration)
        except ServiceError as error:
            return _back_to_my(self.request, error.message)
        return _back_to_my(self.request, _("You have left ${site}. You can register again at "
                                           "any time.", mapping={"site": site.name}))
