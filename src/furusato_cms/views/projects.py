"""What visitors and registrants see of contributor activities: the list of projects,
a project's page with its sessions, and applying for a session (and cancelling).

A project is public while it is published and inside its dates on an active site
(the resource's ACL); applying needs a registrant account (``site:session:apply``),
so a visitor who is not signed in is sent to sign in and back.
"""
from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther
from pyramid.view import view_config

from ..forms import button, flash, make_form, submit
from ..i18n import _
from ..interests import INTERESTS
from ..markup import render_markdown
from ..permissions import Permissions as P
from ..resources.activities import ProjectResource, ProjectsContainer, SessionResource
from ..schemas.projects import application_schema
from ..services.errors import ServiceError
from ..services.projects import ProjectService
from ..services.session_applications import APPLICATION_STATE_LABELS, ApplicationService
from ..services.publishing import shown_html
from .public import page_param


def _registrant(request):
    identity = request.identity
    if identity is None or identity.account.kind != "registrant":
        return None
    return identity.account


def field_param(request):
    field = request.GET.get("field") or None
    if field is not None and field not in INTERESTS:
        raise HTTPBadRequest(_("Unknown field. Choose one of the fields shown on the page."))
    return field


@view_config(context=ProjectsContainer, renderer="projects/list.jinja2", permission=P.VIEW,
             request_method="GET", replica=True)
def project_list(context, request):
    field = field_param(request)
    projects = request.service(ProjectService).public_list(context.site, field=field,
                                                           page=page_param(request))
    return {"projects": projects, "field": field, "fields": INTERESTS}


@view_config(context=ProjectResource, renderer="projects/project.jinja2", permission=P.VIEW,
             request_method="GET", replica=True)
def project_page(context, request):
    project = context.project
    sessions, seats = request.service(ProjectService).sessions_with_seats(project)
    return {
        "project": project,
        "body_html": shown_html(project.body, project.body_html),
        "conditions_html": render_markdown(project.conditions),
        "fields": INTERESTS,
        "sessions": sessions,
        "seats": seats,
        "mine": request.service(ApplicationService).applications_of(_registrant(request),
                                                                     sessions),
        "application_states": APPLICATION_STATE_LABELS,
        "may_manage": bool(request.has_permission(P.PROJECT_MANAGE, context)),
        "now": request.clock(),
    }


def _apply_form(request, context):
    return make_form(request, application_schema(context.project.questions or []),
                     buttons=(button(request, "apply", _("Apply")),))


def _apply_page(context, request, form_html=None):
    session = context.session
    service = request.service(ProjectService)
    application = request.service(ApplicationService).applications_of(
        _registrant(request), [session]).get(session.id)
    return {
        "project": context.project, "session": session,
        "seats": service.seats([session])[session.id],
        "application": application, "application_states": APPLICATION_STATE_LABELS,
        "form": form_html or _apply_form(request, context).render(),
        "submitted": form_html is not None, "now": request.clock(),
    }


@view_config(context=SessionResource, name="apply", renderer="projects/apply.jinja2",
             permission=P.SESSION_APPLY, request_method="GET")
def apply_form(context, request):
    return _apply_page(context, request)


@view_config(context=SessionResource, name="apply", renderer="projects/apply.jinja2",
             permission=P.SESSION_APPLY, request_method="POST")
def apply_submit(context, request):
    def apply(answers):
        return request.service(ApplicationService).apply(
            request.identity.account, context.session, answers)

    outcome = submit(request, _apply_form(request, context), apply)
    if outcome.failed:
        return _apply_page(context, request, outcome.form_html)
    if outcome.result.state == "applied":
        flash(request, _("Your application was accepted: you have a place."))
    else:
        flash(request, _("The session is full, so you are on the waiting list. If a place "
                         "becomes free, it goes to you in turn and we tell you by mail."))
    return HTTPSeeOther(request.resource_url(context.__parent__.__parent__))


@view_config(context=SessionResource, name="withdraw", permission=P.SESSION_APPLY,
             request_method="POST")
def withdraw(context, request):
    """The registrant's own cancellation of their application."""
    service = request.service(ApplicationService)
    application = service.applications_of(_registrant(request), [context.session]).get(
        context.session.id)
    if application is None:
        raise HTTPBadRequest(_("You have not applied for this session."))
    try:
        service.cancel(application)
    except ServiceError as exc:
        raise HTTPBadRequest(request.localizer.translate(exc.message)) from exc
    flash(request, _("Your application was cancelled."))
    return HTTPSeeOther(request.resource_url(context.__parent__.__parent__))
