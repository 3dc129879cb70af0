"""Staff screens for projects (担い手活動の募集), their sessions and applicants.

Who may do what comes from the resources' ACL: site admins and coordinators manage
every project of the site; partner staff hold ``site:projects:manage`` only on their
own organisation's projects (the project's ACL), so another organisation's project is
refused. Publishing (公開) and designation (対象指定) are the site's decisions:
both need ``site:projects:designate``, which partner staff never hold.
"""
import colander
from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config

from ..clock import to_tokyo
from ..forms import button, flash, make_form, refusal_status_of, submit
from ..i18n import _
from ..interests import INTERESTS
from ..permissions import Permissions as P
from ..resources.activities import (
    ProjectResource,
    ProjectsContainer,
    SessionResource,
    SessionsContainer,
)
from ..resources.site import find_site_resource
from ..schemas.content import TransitionSchema
from ..schemas.projects import (
    PARTICIPATION_LABELS,
    SessionSchema,
    project_schema,
    session_appstruct,
    session_values,
)
from ..services.errors import ServiceError
from ..services.projects import ProjectScope, ProjectService
from ..services.needs import NeedService
from ..services.publishing import STATE_LABELS
from ..services.session_applications import APPLICATION_STATE_LABELS, ApplicationService
from .public import page_param


def project_scope(request, context) -> ProjectScope:
    """The whole site for its admins and coordinators; otherwise the organisation of
    the person's partner membership at this site (none if they have no such link)."""
    site_resource = find_site_resource(context)
    if request.has_permission(P.PROJECT_MANAGE, site_resource):
        return ProjectScope(site_wide=True)
    partner_ids = [
        m.partner_id for m in request.identity.memberships
        if m.site_id == site_resource.site.id and m.role == "partner"
    ]
    return ProjectScope(site_wide=False, partner_id=partner_ids[0] if partner_ids else None)


def may_publish(request, context) -> bool:
    """Publishing a project is the site's decision, as designating it is."""
    return bool(request.has_permission(P.PROJECT_DESIGNATE, context))


def _service(request) -> ProjectService:
    return request.service(ProjectService)


def _labels(**values) -> dict:
    return {"states": STATE_LABELS, "fields": INTERESTS,
            "application_states": APPLICATION_STATE_LABELS,
            "participation": PARTICIPATION_LABELS, **values}


# -- the list and new projects ----------------------------------------------------


@view_config(context=ProjectsContainer, name="manage", renderer="projects/manage.jinja2",
             permission=P.PROJECT_CREATE, request_method="GET")
def manage(context, request):
    service = _service(request)
    scope = project_scope(request, context)
    projects = service.manage_list(context.site, scope, page=page_param(request))
    return _labels(projects=projects, scope=scope, now=request.clock(),
                   summaries=service.session_summaries([p.id for p in projects.items]))


def _new_form(request, context, scope):
    partners = _service(request).partner_choices(context.site) if scope.site_wide else []
    return make_form(request, project_schema(new=True, choose_partner=scope.site_wide),
                     buttons=(button(request, "save", _("Save as draft")),), partners=partners)


@view_config(context=ProjectsContainer, name="new", renderer="projects/new.jinja2",
             permission=P.PROJECT_CREATE, request_method="GET")
def new_project(context, request):
    form = _new_form(request, context, project_scope(request, context))
    return {"form": form.render({"field": "agriculture"})}


@view_config(context=ProjectsContainer, name="new", renderer="projects/new.jinja2",
             permission=P.PROJECT_CREATE, request_method="POST")
def create_project(context, request):
    scope = project_scope(request, context)

    def create(data):
        return _service(request).create(request.actor, context.site, scope, **data)

    outcome = submit(request, _new_form(request, context, scope), create)
    if outcome.failed:
        return {"form": outcome.form_html}
    flash(request, _("The project was saved as a draft. Add its sessions, then submit it "
                     "for review or publish it."))
    return HTTPSeeOther(request.resource_url(context, str(outcome.result.id), "edit"))


# -- one project ----------------------------------------------------------------------


def _edit_form(request):
    return make_form(request, project_schema(new=False, choose_partner=False),
                     buttons=(button(request, "save", _("Save")),))


def _current_values(project) -> dict:
    return {"title": project.title, "field": project.field, "summary": project.summary,
            "body": project.body, "conditions": project.conditions,
            "questions": project.questions or [], "publish_at": project.publish_at,
            "expire_at": project.expire_at, "expected_version": project.version}


def _edit_page(context, request, form_html=None, *, workflow_error=None, comment=""):
    service = _service(request)
    project = context.project
    sessions = list(project.sessions)
    return _labels(
        project=project, form=form_html or _edit_form(request).render(_current_values(project)),
        history=service.publishing.history(project), sessions=sessions,
        seats=service.seats(sessions),
        steps=service.publishing.available_transitions(
            project, may_publish=may_publish(request, context)),
        may_designate=bool(request.has_permission(P.PROJECT_DESIGNATE, context)),
        workflow_error=workflow_error, comment=comment, now=request.clock(),
        from_need=request.service(NeedService).need_of_project(project),
    )


@view_config(context=ProjectResource, name="edit", renderer="projects/edit.jinja2",
             permission=P.PROJECT_MANAGE, request_method="GET")
def edit_project(context, request):
    return _edit_page(context, request)


@view_config(context=ProjectResource, name="edit", renderer="projects/edit.jinja2",
             permission=P.PROJECT_MANAGE, request_method="POST")
def save_project(context, request):
    def save(data):
        _service(request).update(request.actor, context.project, **data)

    outcome = submit(request, _edit_form(request), save)
    if outcome.failed:
        return _edit_page(context, request, outcome.form_html)
    flash(request, _("Saved as version ${number}.", mapping={"number": context.project.version}))
    return HTTPSeeOther(request.resource_url(context, "edit"))


@view_config(context=ProjectResource, name="transition", renderer="projects/edit.jinja2",
             permission=P.PROJECT_MANAGE, request_method="POST")
def transition(context, request):
    """One workflow step; a refusal shows the edit page with the reason."""
    comment = request.POST.get("comment", "")
    try:
        data = TransitionSchema().deserialize(dict(request.POST.items()))
        _service(request).transition(request.actor, context.project, data["to_state"],
                                     data["comment"], may_publish=may_publish(request, context))
    except colander.Invalid as exc:
        request.response.status_int = 400
        message = " ".join(exc.asdict(translate=request.localizer.translate).values())
        return _edit_page(context, request, workflow_error=message, comment=comment)
    except ServiceError as exc:
        request.response.status_int = refusal_status_of(exc)
        return _edit_page(context, request, workflow_error=exc.message, comment=comment)
    state = request.localizer.translate(STATE_LABELS[context.project.state])
    flash(request, _("The project is now: ${state}.", mapping={"state": state}))
    return HTTPSeeOther(request.resource_url(context, "edit"))


@view_config(context=ProjectResource, name="designate", permission=P.PROJECT_DESIGNATE,
             request_method="POST")
def designate(context, request):
    flag = request.POST.get("designated")
    if flag not in ("0", "1"):
        raise HTTPBadRequest(_("Choose whether the project counts for premium registration."))
    _service(request).designate(request.actor, context.project, flag == "1")
    flash(request, _("The project counts for premium registration.") if flag == "1"
          else _("The project does not count for premium registration."))
    return HTTPSeeOther(request.resource_url(context, "edit"))


# -- sessions -------------------------------------------------------------------------


def _session_form(request, label):
    return make_form(request, SessionSchema(), buttons=(button(request, "save", label),))


@view_config(context=SessionsContainer, name="new", renderer="projects/session_form.jinja2",
             permission=P.PROJECT_MANAGE, request_method="GET")
def new_session(context, request):
    form = _session_form(request, _("Add the session"))
    return {"project": context.project, "session": None,
            "form": form.render({"participation": "open"})}


@view_config(context=SessionsContainer, name="new", renderer="projects/session_form.jinja2",
             permission=P.PROJECT_MANAGE, request_method="POST")
def create_session(context, request):
    def create(data):
        return _service(request).add_session(request.actor, context.project,
                                             **session_values(data))

    outcome = submit(request, _session_form(request, _("Add the session")), create)
    if outcome.failed:
        return {"project": context.project, "session": None, "form": outcome.form_html}
    flash(request, _("The session was added."))
    return HTTPSeeOther(request.resource_url(context.__parent__, "edit"))


@view_config(context=SessionResource, name="edit", renderer="projects/session_form.jinja2",
             permission=P.PROJECT_MANAGE, request_method="GET")
def edit_session(context, request):
    form = _session_form(request, _("Save"))
    return {"project": context.project, "session": context.session,
            "form": form.render(session_appstruct(context.session))}


@view_config(context=SessionResource, name="edit", renderer="projects/session_form.jinja2",
             permission=P.PROJECT_MANAGE, request_method="POST")
def save_session(context, request):
    def save(data):
        return _service(request).update_session(request.actor, context.session,
                                                **session_values(data))

    outcome = submit(request, _session_form(request, _("Save")), save)
    if outcome.failed:
        return {"project": context.project, "session": context.session,
                "form": outcome.form_html}
    flash(request, _("The session was saved."))
    if outcome.result:
        flash(request, _("${n} people moved up from the waiting list and were told by mail.",
                         mapping={"n": len(outcome.result)}))
    return HTTPSeeOther(_project_edit_url(request, context))


def _project_edit_url(request, session_context):
    return request.resource_url(session_context.__parent__.__parent__, "edit")


@view_config(context=SessionResource, name="cancel", renderer="projects/session_cancel.jinja2",
             permission=P.PROJECT_MANAGE, request_method="GET")
def cancel_confirm(context, request):
    seats = _service(request).seats([context.session])[context.session.id]
    return {"project": context.project, "session": context.session, "seats": seats}


@view_config(context=SessionResource, name="cancel", renderer="projects/session_cancel.jinja2",
             permission=P.PROJECT_MANAGE, request_method="POST")
def cancel_session(context, request):
    try:
        notified = _service(request).cancel_session(request.actor, context.session)
    except ServiceError as exc:
        request.response.status_int = refusal_status_of(exc)
        seats = _service(request).seats([context.session])[context.session.id]
        return {"project": context.project, "session": context.session, "seats": seats,
                "error": exc.message}
    flash(request, _("The session was cancelled; ${n} people were told by mail.",
                     mapping={"n": notified}))
    return HTTPSeeOther(_project_edit_url(request, context))


# -- applicants -----------------------------------------------------------------------


@view_config(context=SessionResource, name="applicants", renderer="projects/applicants.jinja2",
             permission=P.PROJECT_MANAGE, request_method="GET")
def applicants(context, request):
    service = request.service(ApplicationService)
    rows = service.applicants(context.session)
    service.record_view(request.actor, context.session, len(rows))
    return _labels(project=context.project, session=context.session, rows=rows,
                   seats=_service(request).seats([context.session])[context.session.id])


@view_config(context=SessionResource, name="applicants.csv", permission=P.PROJECT_MANAGE,
             request_method="GET")
def applicants_csv(context, request):
    """A download, never cached: it holds people's names and addresses."""
    data = request.service(ApplicationService).export_applicants(
        request.actor, context.session, translate=request.localizer.translate
    )
    day = to_tokyo(context.session.starts_at).strftime("%Y%m%d")
    response = Response(body=data, content_type="text/csv", charset="utf-8")
    response.content_disposition = (
        f'attachment; filename="applicants-{context.project.id}-{context.session.id}-{day}.csv"'
    )
    response.cache_control = "no-store"
    return response
