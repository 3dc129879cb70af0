"""Basic registration with a site (/s/{code}/register, ベーシック登録) in three steps:
the questions, a confirmation page showing the answers, then done (→ /my/).

The confirmation page carries the submitted values in hidden fields, exactly as they
were posted, so "back to edit" and "register" validate the same input again; nothing
is kept on the server between the steps.
"""
import deform
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from ..forms import make_form, show_error, validate
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.site import SiteResource
from ..schemas.policies import with_privacy
from ..schemas.registration import prefilled, registration_schema, site_answers, summary
from ..schemas.survey import show_answer_errors
from ..services.errors import ServiceError
from ..services.policies import PolicyService
from ..services.registration import STATE_LABELS, AnswersRefused, RegistrationService
from ..services.sites import tokyo_date
from ..vocabulary import TIER_LABELS

FORM = "registration/form.jinja2"
CONFIRM = "registration/confirm.jinja2"
ALREADY = "registration/already.jinja2"
STEPS = ("confirm", "edit", "register")
DISPLAY = {"tokyo_date": tokyo_date, "tier_labels": TIER_LABELS, "state_labels": STATE_LABELS}
"""What the registration templates need to show a registration."""


def answers_form(request, questions, name, title, *, consent=False,
                 ask_postal_code=False) -> deform.Form:
    """The registration questions with one submit button (also used by /my/ to edit);
    ``consent`` adds the required privacy-notice box (registering, not editing)."""
    button = deform.Button(name, request.localizer.translate(title))
    schema = registration_schema(questions, ask_postal_code)
    return make_form(request, with_privacy(schema) if consent else schema, buttons=(button,))


def asks_postal_code(service, account) -> bool:
    """Where one lives is declared only by people without verified identity."""
    return service.verification_of(account) is None


def refused_form(form, error) -> str:
    """The form again with a rule's refusal: per question, or on a field or the form."""
    if isinstance(error, AnswersRefused):
        return show_answer_errors(form, error.errors)
    return show_error(form, error.message, error.field)


class RegistrationSteps:
    """The three steps share the site, the person, the questions and the form."""

    def __init__(self, context, request):
        self.request = request
        self.site = context.site
        self.account = request.identity.account
        self.service = request.service(RegistrationService)
        self.questions = self.service.questions_of(self.site)
        self.form = answers_form(request, self.questions, "confirm", _("Review my answers"),
                                 consent=True,
                                 ask_postal_code=asks_postal_code(self.service, self.account))

    def page(self, form_html, current=None):
        return {
            "form": form_html,
            "current": current,
            "prefecture": self.service.prefecture_joining_with(self.account, self.site),
            "declared_home": self.service.declared_home_name(self.account),
        }

    @view_config(context=SiteResource, name="register", request_method="GET",
                 renderer=FORM, permission=P.REGISTER)
    def start(self):
        current = self.service.current_registration(self.account, self.site)
        if current is not None and current.state == "active" and current.derived_from_id is None:
            self.request.override_renderer = ALREADY
            return {"registration": current, **DISPLAY}
        values = {}
        if current is not None:
            values = prefilled(current, self.questions, self.service.answers_of(current))
        return self.page(self.form.render(values), current)

    @view_config(context=SiteResource, name="register", request_method="POST",
                 request_param="confirm", renderer=FORM, permission=P.REGISTER)
    def confirm(self):
        try:
            values = validate(self.request, self.form)
            relationship_types, connections = self.service.check_national(
                values["relationship_types"], values["connections"]
            )
            home = None
            if values.get("postal_code"):
                home = self.service.check_postal_code(values["postal_code"])
            answers = self.service.check_site_answers(self.site, site_answers(values))
        except deform.ValidationFailure as failure:
            return self.page(failure.render())
        except ServiceError as error:
            return self.page(refused_form(self.form, error))
        self.request.override_renderer = CONFIRM
        translate = self.request.localizer.translate
        return {
            "rows": summary(translate, relationship_types, connections, self.questions, answers,
                            home),
            "carried": [(name, value) for name, value in self.request.POST.items()
                        if name not in STEPS and name != "csrf_token"],
            "prefecture": self.service.prefecture_joining_with(self.account, self.site),
        }

    @view_config(context=SiteResource, name="register", request_method="POST",
                 request_param="edit", renderer=FORM, permission=P.REGISTER)
    def edit(self):
        try:
            values = validate(self.request, self.form)
        except deform.ValidationFailure as failure:
            return self.page(failure.render())
        return self.page(self.form.render(values))

    @view_config(context=SiteResource, name="register", request_method="POST",
                 request_param="register", renderer=FORM, permission=P.REGISTER)
    def register(self):
        prefecture = self.service.prefecture_joining_with(self.account, self.site)
        try:
            values = validate(self.request, self.form)
            self.service.register(self.account, self.site, values["relationship_types"],
                                  values["connections"], site_answers(values),
                                  postal_code=values.get("postal_code"))
            self.request.service(PolicyService).accept_notices(
                self.account, [self.site, *([prefecture] if prefecture else [])])
        except deform.ValidationFailure as failure:
            return self.page(failure.render())
        except ServiceError as error:
            return self.page(refused_form(self.form, error))
        self.request.session.flash(self.request.localizer.translate(
            _("You are now registered with ${site} as a Furusato resident.",
              mapping={"site": self.site.name})
        ))
        return HTTPSeeOther(self.request.application_url + "/my/")
