"""/join: a local government applies to take part (参画申請). No account is needed;
the national operator decides on the application."""
from pyramid.view import view_config

from ..forms import button, make_form, submit
from ..i18n import _
from ..permissions import Permissions as P
from ..resources import Root
from ..schemas.sites import JoinSchema
from ..services.sites import SiteLifecycleService


def _form(request):
    return make_form(request, JoinSchema(),
                     buttons=(button(request, "apply", _("Send the application")),))


@view_config(context=Root, name="join", renderer="join/form.jinja2", permission=P.JOIN_APPLY,
             request_method="GET")
def join_form(request):
    return {"form": _form(request).render()}


@view_config(context=Root, name="join", renderer="join/form.jinja2", permission=P.JOIN_APPLY,
             request_method="POST")
def join_submit(request):
    def apply(values):
        return request.service(SiteLifecycleService).apply(**values, actor=request.actor)

    outcome = submit(request, _form(request), apply, refusal_status=400)
    if outcome.failed:
        return {"form": outcome.form_html}
    request.override_renderer = "join/thanks.jinja2"
    return {"applied": outcome.result}
