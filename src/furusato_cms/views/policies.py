"""The terms of use and the privacy notices: the public pages (/terms,
/s/{code}/privacy, any earlier version with ?version=N), the pages that ask a registrant
again (/terms/accept before any other page, /my/privacy from /my/), and the editors'
screens (/operator/terms for the operator, /s/{code}/privacy/edit for the site's admin)."""
import re

import deform
from pyramid.events import ContextFound, subscriber
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config

from ..forms import button, flash, make_form, show_error, submit, validate
from ..i18n import _
from ..markup import render_markdown
from ..permissions import Permissions as P
from ..resources import Root
from ..resources.my import MyArea
from ..resources.operator import OperatorArea
from ..resources.site import SiteResource
from ..schemas.policies import (
    NoticesAcceptSchema,
    PolicyEditSchema,
    TermsAcceptSchema,
    with_privacy,
    with_terms,
)
from ..services.errors import Conflict
from ..services.policies import PolicyService
from .language import safe_return_path

TERMS = r"^/terms/?$"
TERMS_ACCEPT = r"^/terms/accept/?$"
PRIVACY = r"^/s/[^/]+/privacy/?$"
PRIVACY_EDIT = r"^/s/[^/]+/privacy/edit/?$"
MY_PRIVACY = r"^/my/privacy/?$"
ASK_AGAIN_EXEMPT = re.compile(
    r"^/(terms|signout|static|themes|language|healthz)(/|$)|^/s/[^/]+/privacy/?$"
    r"|^/my/delete/?$"
)
"""Pages a registrant reaches before accepting new terms: the texts themselves, signing
out, leaving the platform, and what any page needs (static files, language)."""


@subscriber(ContextFound)
def ask_for_new_terms(event):
    """A registrant who has not accepted the current terms sees them before any other
    page. Known from the identity query already made, so it costs no query."""
    request = event.request
    if ASK_AGAIN_EXEMPT.match(request.path_info):
        return
    identity = request.identity
    if identity is None or not identity.terms_due or identity.account.kind != "registrant":
        return
    query = {"came_from": request.path_qs} if request.method == "GET" else None
    raise HTTPSeeOther(request.resource_url(request.root, "terms", "accept", query=query))


def _version_param(request):
    raw = request.GET.get("version", "")
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise HTTPNotFound()
    return int(raw)


def _text_page(shown, history, **extra):
    if shown is None:
        raise HTTPNotFound()
    return {"shown": shown, "body_html": render_markdown(shown.body), "history": history,
            **extra}


# -- the terms of use ----------------------------------------------------------------


@view_config(context=Root, name="terms", path_info=TERMS, request_method="GET",
             renderer="policies/terms.jinja2", permission=P.VIEW)
def terms_page(request):
    service = request.service(PolicyService)
    version = _version_param(request)
    shown = service.current_terms() if version is None else service.terms_version(version)
    return _text_page(shown, service.terms_history())


def _terms_accept_form(request, came_from):
    return make_form(request, with_terms(TermsAcceptSchema()),
                     buttons=(button(request, "accept", _("Accept and continue")),),
                     action=request.resource_url(request.root, "terms", "accept",
                                                 query={"came_from": came_from}))


def _terms_accept_page(request, form_html, current):
    return {"shown": current, "body_html": render_markdown(current.body), "form": form_html}


@view_config(context=Root, name="terms", path_info=TERMS_ACCEPT, request_method="GET",
             renderer="policies/terms_accept.jinja2", permission=P.ACCOUNT_MANAGE)
def terms_accept_page(request):
    current = request.service(PolicyService).current_terms()
    came_from = request.GET.get("came_from", "")
    if current is None or not request.identity.terms_due:
        return HTTPSeeOther(safe_return_path(request, came_from, "/my/"))
    form = _terms_accept_form(request, came_from)
    return _terms_accept_page(request, form.render({"version": current.version}), current)


@view_config(context=Root, name="terms", path_info=TERMS_ACCEPT, request_method="POST",
             renderer="policies/terms_accept.jinja2", permission=P.ACCOUNT_MANAGE)
def terms_accept(request):
    """A newer version published while the person was reading is shown instead (409),
    with the form now carrying that version."""
    service = request.service(PolicyService)
    came_from = request.GET.get("came_from", "")
    form = _terms_accept_form(request, came_from)
    try:
        values = validate(request, form)
        service.accept_terms(request.identity.account, values["version"])
    except deform.ValidationFailure as failure:
        request.response.status_int = 400
        return _terms_accept_page(request, failure.render(), service.current_terms())
    except Conflict as conflict:
        request.response.status_int = 409
        current = service.current_terms()
        fresh = _terms_accept_form(request, came_from)
        fresh.set_appstruct({"version": current.version})
        return _terms_accept_page(request, show_error(fresh, conflict.message), current)
    return HTTPSeeOther(safe_return_path(request, came_from, "/my/"))


def _editor_form(request, action):
    return make_form(request, PolicyEditSchema(),
                     buttons=(button(request, "publish", _("Publish as a new version")),),
                     action=action)


def _editor_page(request, form_html, history, title):
    return {"form": form_html, "history": history, "title": title}


@view_config(context=OperatorArea, name="terms", renderer="policies/edit.jinja2",
             permission=P.OPERATOR_SETTINGS, request_method="GET")
def terms_edit(context, request):
    service = request.service(PolicyService)
    current = service.current_terms()
    form = _editor_form(request, request.application_url + "/operator/terms")
    return _editor_page(request, form.render({"body": current.body} if current else {}),
                        service.terms_history(), _("Terms of use"))


@view_config(context=OperatorArea, name="terms", renderer="policies/edit.jinja2",
             permission=P.OPERATOR_SETTINGS, request_method="POST")
def terms_publish(context, request):
    service = request.service(PolicyService)
    outcome = submit(request, _editor_form(request, request.application_url + "/operator/terms"),
                     lambda values: service.publish_terms(request.actor, values["body"]),
                     refusal_status=400)
    if outcome.failed:
        return _editor_page(request, outcome.form_html, service.terms_history(),
                            _("Terms of use"))
    flash(request, _("Version ${version} was published.",
                     mapping={"version": outcome.result.version}))
    return HTTPSeeOther(request.application_url + "/operator/terms")


# -- the sites' privacy notices ------------------------------------------------------------


@view_config(context=SiteResource, name="privacy", path_info=PRIVACY, request_method="GET",
             renderer="policies/privacy.jinja2", permission=P.VIEW)
def privacy_page(context, request):
    service = request.service(PolicyService)
    version = _version_param(request)
    site = context.site
    shown = (service.current_notice(site) if version is None
             else service.notice_version(site, version))
    return _text_page(shown, service.notice_history(site))


def _privacy_action(request, site):
    return f"{request.application_url}/s/{site.code}/privacy/edit"


@view_config(context=SiteResource, name="privacy", path_info=PRIVACY_EDIT,
             request_method="GET", renderer="policies/edit.jinja2",
             permission=P.SITE_SETTINGS)
def privacy_edit(context, request):
    service = request.service(PolicyService)
    current = service.current_notice(context.site)
    form = _editor_form(request, _privacy_action(request, context.site))
    return _editor_page(request, form.render({"body": current.body} if current else {}),
                        service.notice_history(context.site), _("Privacy notice"))


@view_config(context=SiteResource, name="privacy", path_info=PRIVACY_EDIT,
             request_method="POST", renderer="policies/edit.jinja2",
             permission=P.SITE_SETTINGS)
def privacy_publish(context, request):
    service = request.service(PolicyService)
    site = context.site
    outcome = submit(request, _editor_form(request, _privacy_action(request, site)),
                     lambda values: service.publish_notice(request.actor, site, values["body"]),
                     refusal_status=400)
    if outcome.failed:
        return _editor_page(request, outcome.form_html, service.notice_history(site),
                            _("Privacy notice"))
    flash(request, _("Version ${version} was published.",
                     mapping={"version": outcome.result.version}))
    return HTTPSeeOther(_privacy_action(request, site))


def _notices_form(request):
    return make_form(request, with_privacy(NoticesAcceptSchema()),
                     buttons=(button(request, "accept", _("Accept and continue")),),
                     action=request.application_url + "/my/privacy")


def _notices_page(form_html, due):
    return {"form": form_html, "due": due}


@view_config(context=MyArea, name="privacy", path_info=MY_PRIVACY, request_method="GET",
             renderer="policies/my_notices.jinja2", permission=P.REGISTRANT_SELF)
def my_notices(context, request):
    due = request.service(PolicyService).notices_to_accept(request.identity.account)
    if not due:
        return HTTPSeeOther(request.application_url + "/my/")
    return _notices_page(_notices_form(request).render(), due)


@view_config(context=MyArea, name="privacy", path_info=MY_PRIVACY, request_method="POST",
             renderer="policies/my_notices.jinja2", permission=P.REGISTRANT_SELF)
def my_notices_accept(context, request):
    """Accepts the current notices of the sites that still ask for it."""
    service = request.service(PolicyService)
    account = request.identity.account
    due = service.notices_to_accept(account)
    outcome = submit(request, _notices_form(request),
                     lambda values: service.accept_notices(account, [s for s, _n in due]))
    if outcome.failed:
        return _notices_page(outcome.form_html, due)
    return HTTPSeeOther(request.application_url + "/my/")
