"""Stays (滞在記録):

- ``/stay/{code}``: the page a stay point's QR code opens; a signed-in registrant taps
  once to record today's stay (GET shows the place, POST records; anyone may look).
- ``/my/premium/stays``: the registrant's declaration of days stayed, with documents.
- ``/s/{code}/premium/stay-points/``: the site's designated lodgings and workspaces
  (list and add), ``…/{id}`` (edit), ``…/{id}/rotate`` and ``…/{id}/retire`` (POST),
  ``…/{id}/qr.svg`` and ``qr.png`` — for holders of ``site:premium:review``.

The rules are in services/stays.py.
"""
from urllib.parse import urlencode

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.response import Response
from pyramid.view import view_config

from ..forms import button, flash, make_form, submit
from ..i18n import _
from ..permissions import Permissions as P
from ..resources import Root
from ..resources.my import MyArea
from ..resources.premium import StayPointResource, StayPointsContainer
from ..schemas.premium import StayPointSchema, declaration_schema, document_files
from ..services import posters
from ..services.checkin_tokens import TokenRefused
from ..services.errors import ServiceError
from ..services.registration import RegistrationService
from ..services.stays import POINT_KINDS, StayService

SCAN_PAGE = "premium/stay_scan.jinja2"
REFUSED_PAGE = "premium/stay_refused.jinja2"
DECLARE = r"^/my/premium/stays/?$"


# -- scanning a stay point's code --------------------------------------------------------

def _token(request) -> str:
    if len(request.subpath) != 1:
        raise HTTPNotFound()
    return request.subpath[0]


def _refused(request, message, status):
    request.response.status_int = status
    return render_to_response(REFUSED_PAGE, {"message": message}, request=request,
                              response=request.response)


def _signin_url(request, token) -> str:
    return request.application_url + "/signin?" + urlencode({"came_from": f"/stay/{token}"})


@view_config(context=Root, name="stay", request_method="GET", renderer=SCAN_PAGE,
             permission=P.VIEW)
def stay_page(request):
    token = _token(request)
    try:
        point, site = request.service(StayService).point_for_token(token)
    except TokenRefused as refusal:
        return _refused(request, refusal.message, 400)
    except ServiceError as refusal:
        return _refused(request, refusal.message, 404)
    return {"point": point, "site": site, "token": token, "kinds": POINT_KINDS,
            "signin_url": _signin_url(request, token)}


@view_config(context=Root, name="stay", request_method="POST", renderer=SCAN_PAGE,
             permission=P.VIEW)
def record_stay(request):
    token = _token(request)
    identity = request.identity
    if identity is None:
        return HTTPSeeOther(_signin_url(request, token))
    try:
        scan = request.service(StayService).scan(identity.account, token)
    except TokenRefused as refusal:
        return _refused(request, refusal.message, 400)
    except ServiceError as refusal:
        return _refused(request, refusal.message, 403)
    return {"point": scan.point, "site": scan.site, "scan": scan, "kinds": POINT_KINDS}


# -- the registrant's declaration ------------------------------------------------------------

def _declaration_form(request):
    registrations = request.service(RegistrationService).registrations_of(
        request.identity.account)
    sites = [(r.site.code, r.site.name) for r in registrations
             if r.state == "active" and r.site.is_public]
    form = make_form(request, declaration_schema(), sites=sites,
                     buttons=(button(request, "declare", _("Send the declaration")),))
    return form, {r.site.code: r.site for r in registrations}


@view_config(context=MyArea, name="premium", path_info=DECLARE, request_method="GET",
             renderer="premium/declare.jinja2", permission=P.REGISTRANT_SELF)
def declare_page(request):
    form, _sites = _declaration_form(request)
    return {"form": form.render()}


@view_config(context=MyArea, name="premium", path_info=DECLARE, request_method="POST",
             renderer="premium/declare.jinja2", permission=P.REGISTRANT_SELF)
def declare(request):
    form, sites = _declaration_form(request)
    limit = request.app_settings.upload_max_bytes

    def send(values):
        documents = [(f.get("filename") or "", f["fp"].read(limit + 1))
                     for f in document_files(values)]
        return request.service(StayService).declare(
            request.identity.account, sites[values["site"]], values["first_day"],
            values["last_day"], values["note"], documents)

    outcome = submit(request, form, send)
    if outcome.failed:
        return {"form": outcome.form_html}
    flash(request, _("Your declaration has been sent. A coordinator will check it."))
    return HTTPSeeOther(request.application_url + "/my/premium")


# -- stay points (coordinators) ---------------------------------------------------------------

def _point_form(request, action, title):
    return make_form(request, StayPointSchema(), action=action,
                     buttons=(button(request, "save", title),))


def _submit_point(context, request, title, store, page, done, back):
    """Adding and editing a stay point share a form: ``store(name, kind)`` on good input,
    else ``page`` again with the form's messages."""
    form = _point_form(request, request.resource_url(context), title)
    outcome = submit(request, form, lambda values: store(values["name"], values["kind"]))
    if outcome.failed:
        return page(context, request, outcome.form_html)
    flash(request, done)
    return HTTPSeeOther(back)


def _points_page(context, request, form_html=None):
    service = request.service(StayService)
    return {
        "points": [(point, service.stay_url(point)) for point in service.points_of(context.site)],
        "form": form_html or _point_form(request, request.resource_url(context),
                                         _("Add the place")).render(),
        "kinds": POINT_KINDS,
    }


@view_config(context=StayPointsContainer, renderer="premium/stay_points.jinja2",
             permission=P.PREMIUM_REVIEW, request_method="GET")
def stay_points(context, request):
    return _points_page(context, request)


@view_config(context=StayPointsContainer, renderer="premium/stay_points.jinja2",
             permission=P.PREMIUM_REVIEW, request_method="POST")
def add_stay_point(context, request):
    return _submit_point(
        context, request, _("Add the place"),
        lambda name, kind: request.service(StayService).create_point(
            request.actor, context.site, name, kind),
        _points_page, _("The place was added. Print its code and display it there."),
        request.resource_url(context))


def _edit_page(context, request, form_html=None):
    point = context.point
    form = _point_form(request, request.resource_url(context), _("Save"))
    return {"point": point, "kinds": POINT_KINDS,
            "stay_url": request.service(StayService).stay_url(point),
            "form": form_html or (form.render({"name": point.name, "kind": point.kind})
                                  if point.retired_at is None else None)}


@view_config(context=StayPointResource, renderer="premium/stay_point.jinja2",
             permission=P.PREMIUM_REVIEW, request_method="GET")
def stay_point(context, request):
    return _edit_page(context, request)


@view_config(context=StayPointResource, renderer="premium/stay_point.jinja2",
             permission=P.PREMIUM_REVIEW, request_method="POST")
def save_stay_point(context, request):
    return _submit_point(
        context, request, _("Save"),
        lambda name, kind: request.service(StayService).update_point(
            request.actor, context.point, name, kind),
        _edit_page, _("Saved."), request.resource_url(context.__parent__))


def _point_action(context, request, action, message):
    try:
        action(request.actor, context.point)
    except ServiceError as error:
        message = error.message
    flash(request, message)
    return HTTPSeeOther(request.resource_url(context.__parent__))


@view_config(context=StayPointResource, name="rotate", permission=P.PREMIUM_REVIEW,
             request_method="POST")
def rotate_stay_point(context, request):
    return _point_action(context, request, request.service(StayService).rotate_point,
                         _("A new code was issued. Print it again: the earlier code no longer "
                           "works."))


@view_config(context=StayPointResource, name="retire", permission=P.PREMIUM_REVIEW,
             request_method="POST")
def retire_stay_point(context, request):
    return _point_action(context, request, request.service(StayService).retire_point,
                         _("The place no longer records stays."))


def _qr(body, content_type, filename):
    response = Response(body=body, content_type=content_type)
    response.content_disposition = f'inline; filename="{filename}"'
    response.cache_control = "no-store"
    return response


@view_config(context=StayPointResource, name="qr.svg", permission=P.PREMIUM_REVIEW,
             request_method="GET")
def stay_qr_svg(context, request):
    url = request.service(StayService).stay_url(context.point)
    return _qr(posters.qr_svg(url), "image/svg+xml", f"stay-{context.point.id}.svg")


@view_config(context=StayPointResource, name="qr.png", permission=P.PREMIUM_REVIEW,
             request_method="GET")
def stay_qr_png(context, request):
    url = request.service(StayService).stay_url(context.point)
    return _qr(posters.qr_png(url), "image/png", f"stay-{context.point.id}.png")
