"""The operator's national settings (/operator/settings, 国が決める設定)."""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from ..forms import button, flash, make_form, submit
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.operator import OperatorArea
from ..schemas.national import NationalSettingsSchema
from ..services.national import FIELDS, NationalSettingsService

TEMPLATE = "operator/settings.jinja2"


def _form(request):
    return make_form(request, NationalSettingsSchema(),
                     buttons=(button(request, "save", _("Save")),))


def _page(request, form_html):
    return {"form": form_html,
            "current": request.service(NationalSettingsService).current()}


@view_config(context=OperatorArea, name="settings", renderer=TEMPLATE,
             permission=P.OPERATOR_SETTINGS, request_method="GET")
def settings_page(context, request):
    current = request.service(NationalSettingsService).current()
    values = {name: getattr(current, name) for name in FIELDS}
    if values["free_period_end"] is None:
        values.pop("free_period_end")
    return _page(request, _form(request).render(values))


@view_config(context=OperatorArea, name="settings", renderer=TEMPLATE,
             permission=P.OPERATOR_SETTINGS, request_method="POST")
def settings_save(context, request):
    def save(values):
        return request.service(NationalSettingsService).update(request.actor, **values)

    outcome = submit(request, _form(request), save, refusal_status=400)
    if outcome.failed:
        return _page(request, outcome.form_html)
    flash(request, _("The national settings were saved."))
    return HTTPSeeOther(request.application_url + "/operator/settings")
