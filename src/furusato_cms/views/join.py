"""/join: a local government applies to take part (参画申請). No account is needed;
the national operator decides on the application."""
import deform
from pyramid.view import view_config

from ..forms import make_form, show_error, validate
from ..i18n import _
from ..permissions import Permissions as P
from ..resources import Root
from ..schemas.sites import JoinSchema
from ..services.errors import ServiceError
from ..services.sites import SiteLifecycleService


def _form(request):
    label = request.localizer.translate(_("Send the application"))
    return make_form(request, JoinSchema(), buttons=(deform.Button("apply", label),))


@view_config(context=Root, name="join", renderer="join/form.jinja2", permission=P.JOIN_APPLY,
             request_method="GET")
def join_form(request):
    return {"form": _form(request).render()}


@view_config(context=Root, name="join", renderer="join/form.jinja2", permission=P.JOIN_APPLY,
             request_method="POST")
def join_submit(request):
    form = _form(request)
    try:
        values = validate(request, form)
    except deform.ValidationFailure as exc:
        request.response.status_int = 400
        return {"form": exc.render()}
    try:
        site = request.service(SiteLifecycleService).apply(**values, actor=request.actor)
    except ServiceError as exc:
        request.response.status_int = 400
        return {"form": show_error(form, exc.message, exc.field)}
    request.override_renderer = "join/thanks.jinja2"
    return {"applied": site}
