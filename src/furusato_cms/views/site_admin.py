"""A site's own admin screens: the dashboard (/s/{code}/manage), its settings and its
staff (/s/{code}/staff/)."""
from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther
from pyramid.view import view_config

from ..forms import button, flash, make_form, submit
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.operator import OperatorArea
from ..resources.site import SiteResource
from ..resources.staff import StaffContainer, StaffMemberResource
from ..resources.webhooks import WebhooksContainer
from ..schemas.sites import SiteSettingsSchema, StaffInviteSchema
from ..services.errors import ServiceError
from ..services.invitations import invitation_path
from ..services.sites import STATE_LABELS, SiteLifecycleService
from ..services.staff import ROLE_LABELS, StaffService


def _site_url(request, site, *path):
    return "/".join([request.application_url, "s", site.code, *path])


@view_config(context=SiteResource, name="manage", renderer="site_admin/dashboard.jinja2",
             permission=P.SITE_DASHBOARD, request_method="GET")
def dashboard(context, request):
    """What the viewer may do here, checked permission by permission."""
    site = context.site
    links = [
        (P.SITE_SETTINGS, context, _("Site settings"), _site_url(request, site, "settings")),
        (P.SITE_SETTINGS, context, _("Look of the site"), _site_url(request, site, "branding")),
        (P.SITE_SETTINGS, context, _("Privacy notice"), _site_url(request, site, "privacy", "edit")),
        (P.SITE_STAFF, context, _("Staff"), _site_url(request, site, "staff", "")),
        (P.WEBHOOKS_MANAGE, WebhooksContainer(context, request),
         _("Webhooks (events for your own systems)"), _site_url(request, site, "webhooks", "")),
        (P.CONTENT_EDIT, context, _("Edit the introduction page"),
         _site_url(request, site, "intro", "edit")),
        (P.CONTENT_EDIT, context, _("Posts"), _site_url(request, site, "posts", "manage")),
        (P.STATS_VIEW, context, _("Statistics"), _site_url(request, site, "stats")),
        (P.SURVEY_MANAGE, context, _("Survey questions"), _site_url(request, site, "survey", "")),
        (P.PARTNER_MANAGE, context, _("Partner organisations"),
         _site_url(request, site, "partners", "")),
        (P.PROJECT_CREATE, context, _("Projects, sessions, QR posters and attendance"),
         _site_url(request, site, "projects", "manage")),
        (P.NEED_SUBMIT, context["needs"], _("Local needs (send one; coordinators decide)"),
         _site_url(request, site, "needs", "")),
        (P.ATTENDANCE_IMPORT, context, _("Import earlier activity records"),
         _site_url(request, site, "imports", "")),
        (P.MEMBERS_INVITE, context, _("Invite a member list (fan club, newsletter)"),
         _site_url(request, site, "members", "")),
        (P.PREMIUM_REVIEW, context, _("Premium registration review and stays"),
         _site_url(request, site, "premium", "")),
        (P.SUPPORT_EDIT, context, _("Support measures and partner offers"),
         _site_url(request, site, "support", "manage")),
        (P.SUPPORT_HANDLE, context, _("Support applications"),
         _site_url(request, site, "support", "applications", "")),
        (P.CONSULTATION_HANDLE, context, _("Consultations"),
         _site_url(request, site, "consultations", "")),
        (P.MONITOR_SURVEY_MANAGE, context, _("Monitor surveys"),
         _site_url(request, site, "surveys", "")),
        (P.ROOM_MODERATE, context, _("Community room moderation"),
         _site_url(request, site, "room", "moderation")),
        (P.OAUTH_CLIENTS_MANAGE, context["clients"], _("Connected apps (API clients)"),
         _site_url(request, site, "clients", "")),
        (P.OPERATOR_VIEW, OperatorArea(request.root, request), _("Operator's page for this site"),
         request.application_url + "/operator/" + site.code),
    ]
    return {
        "may_publish": request.has_permission(P.SITE_SETTINGS, context),
        "fee": request.service(SiteLifecycleService).fee_status(site),
        "state_labels": STATE_LABELS,
        "links": [(label, url) for perm, ctx, label, url in links
                  if request.has_permission(perm, ctx)],
    }


@view_config(context=SiteResource, name="publish", permission=P.SITE_SETTINGS,
             request_method="POST")
def publish(context, request):
    """The site admin opens the prepared site to the public (準備中 → 公開)."""
    try:
        request.service(SiteLifecycleService).publish(request.actor, context.site)
    except ServiceError as exc:
        raise HTTPBadRequest(request.localizer.translate(exc.message)) from exc
    flash(request, _("The site is now public: anyone can read it and register."))
    return HTTPSeeOther(_site_url(request, context.site, "manage"))


def _settings_form(request):
    return make_form(request, SiteSettingsSchema(), buttons=(button(request, "save", _("Save")),))


@view_config(context=SiteResource, name="settings", renderer="site_admin/settings.jinja2",
             permission=P.SITE_SETTINGS, request_method="GET")
def settings_form(context, request):
    service = request.service(SiteLifecycleService)
    return {"form": _settings_form(request).render(service.settings_of(context.site)),
            "national_days": service.national_inactivity_days()}


@view_config(context=SiteResource, name="settings", renderer="site_admin/settings.jinja2",
             permission=P.SITE_SETTINGS, request_method="POST")
def settings_save(context, request):
    def save(values):
        request.service(SiteLifecycleService).update_settings(request.actor, context.site, **values)

    outcome = submit(request, _settings_form(request), save, refusal_status=400)
    if outcome.failed:
        return {"form": outcome.form_html,
                "national_days": request.service(SiteLifecycleService).national_inactivity_days()}
    flash(request, _("The settings were saved."))
    return HTTPSeeOther(_site_url(request, context.site, "settings"))


@view_config(context=StaffContainer, renderer="site_admin/staff.jinja2",
             permission=P.SITE_STAFF, request_method="GET")
def staff_list(context, request):
    service = request.service(StaffService)
    return {
        "memberships": service.memberships(context.site),
        "invitations": service.open_invitations(context.site),
        "role_labels": ROLE_LABELS,
        "me": request.identity.account.id,
    }


def _invite_form(request):
    return make_form(request, StaffInviteSchema(),
                     buttons=(button(request, "invite", _("Create the invitation")),))


@view_config(context=StaffContainer, name="invite", renderer="site_admin/invite.jinja2",
             permission=P.SITE_STAFF, request_method="GET")
def invite_form(context, request):
    return {"form": _invite_form(request).render({"role": "editor"})}


@view_config(context=StaffContainer, name="invite", renderer="site_admin/invite.jinja2",
             permission=P.SITE_STAFF, request_method="POST")
def invite_submit(context, request):
    """The link is shown in this response only; it is never stored or sent anywhere else."""
    def invite(values):
        return request.service(StaffService).invite(
            request.actor, context.site, values["email"], values["role"], values["is_reviewer"]
        )

    outcome = submit(request, _invite_form(request), invite, refusal_status=400)
    if outcome.failed:
        return {"form": outcome.form_html}
    invitation, token = outcome.result
    request.override_renderer = "site_admin/invited.jinja2"
    return {
        "invitation": invitation,
        "invitation_url": request.application_url + invitation_path(token),
        "role_labels": ROLE_LABELS,
    }


@view_config(context=StaffMemberResource, name="remove", renderer="site_admin/remove.jinja2",
             permission=P.SITE_STAFF, request_method="GET")
def remove_confirm(context, request):
    return {"membership": context.membership, "role_labels": ROLE_LABELS}


@view_config(context=StaffMemberResource, name="remove", renderer="site_admin/remove.jinja2",
             permission=P.SITE_STAFF, request_method="POST")
def remove_submit(context, request):
    membership = context.membership
    removing_self = membership.account_id == request.identity.account.id
    name = membership.account.display_name
    try:
        request.service(StaffService).remove(request.actor, membership)
    except ServiceError as exc:
        request.response.status_int = 400
        return {"membership": membership, "role_labels": ROLE_LABELS,
                "error": request.localizer.translate(exc.message)}
    flash(request, _("${name} was removed from the staff.", mapping={"name": name}))
    if removing_self:
        return HTTPSeeOther(request.application_url + "/")
    return HTTPSeeOther(_site_url(request, context.site, "staff", ""))


@view_config(context=StaffMemberResource, name="reviewer", permission=P.SITE_STAFF,
             request_method="POST")
def reviewer_submit(context, request):
    flag = request.POST.get("is_reviewer")
    if flag not in ("0", "1"):
        raise HTTPBadRequest(_("Choose whether this editor may publish."))
    try:
        request.service(StaffService).set_reviewer(request.actor, context.membership, flag == "1")
    except ServiceError as exc:
        raise HTTPBadRequest(request.localizer.translate(exc.message)) from exc
    flash(request, _("The right to publish was updated."))
    return HTTPSeeOther(_site_url(request, context.site, "staff", ""))
