"""Checking a registration card (登録証の確認) at a facility, without signing in.

The card's QR code opens ``/verify?s=<statement>``: a GET that changes nothing and shows
VALID or INVALID with the site, the tier and the expiry, and nothing about the person.
Staff whose scanner types text paste the statement (or the whole URL) into the form.

Without a connection: ``/verify/keys.json`` publishes the public keys, ``/verify/offline``
checks a statement in the browser (static/verify-offline.js, WebCrypto Ed25519) with the
keys it saved, and ``/verify/sw.js`` is a service worker that keeps that page available
and answers a scanned ``/verify?s=…`` with it when the network is down. Facilities' own
systems use the console script ``furusato-verify-card`` with a saved keys.json.
"""
import json

from pyramid.path import AssetResolver
from pyramid.response import FileResponse, Response
from pyramid.view import view_config

from ..i18n import _
from ..permissions import Permissions as P
from ..resources import Root
from ..services.card_statements import MAX_INPUT_CHARS, CardStatementService
from ..vocabulary import TIER_LABELS

WORKER = AssetResolver().resolve("furusato_cms:static/verify-sw.js").abspath()
KEYS_MAX_AGE = 300
"""Seconds a browser or a facility's system may reuse keys.json (keys change rarely)."""

REFUSALS = {
    "expired": _("This code has expired. Ask the person to press \"Refresh\" on their "
                 "card for a new code."),
    "not_yet_valid": _("This code is not valid yet. Check the clock of this device."),
    "not_genuine": _("This code could not be confirmed: it is damaged, altered or not "
                     "issued by this service."),
}
"""Why a code is invalid, in words for the staff at the counter; a forged, altered or
unreadable code is one case (not_genuine): telling them apart helps nobody there."""


def _page_data(request):
    return {
        "tier_labels": TIER_LABELS,
        "max_chars": MAX_INPUT_CHARS,
        "verify_url": request.application_url + "/verify",
        "refusals": REFUSALS,
    }


@view_config(context=Root, name="verify", path_info=r"^/verify/?$", request_method="GET",
             renderer="verify/verify.jinja2", permission=P.VIEW)
def verify(request):
    """The result for ``?s=`` (when given) and the form to enter a code."""
    request.response.headers["Cache-Control"] = "no-store"
    request.response.headers["X-Robots-Tag"] = "noindex"
    entered = request.GET.get("s", "").strip()
    verdict = request.service(CardStatementService).verify(entered) if entered else None
    refusal = None
    if verdict is not None and not verdict.valid:
        refusal = REFUSALS.get(verdict.reason, REFUSALS["not_genuine"])
    return {"verdict": verdict, "refusal": refusal, **_page_data(request)}


@view_config(context=Root, name="verify", path_info=r"^/verify/offline/?$",
             request_method="GET", renderer="verify/offline.jinja2", permission=P.VIEW)
def offline(request):
    return _page_data(request)


@view_config(context=Root, name="verify", path_info=r"^/verify/keys\.json$",
             request_method="GET", permission=P.VIEW)
def public_keys(request):
    """The public keys (JWK set) that verify card statements, current and earlier ones."""
    body = request.service(CardStatementService).public_keys()
    response = Response(json.dumps(body).encode("utf-8"), content_type="application/json",
                        charset="utf-8")
    response.cache_control.public = True
    response.cache_control.max_age = KEYS_MAX_AGE
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@view_config(context=Root, name="verify", path_info=r"^/verify/sw\.js$",
             request_method="GET", permission=P.VIEW)
def service_worker(request):
    """Served here (not under /static/) so its scope can be /verify, which also covers the
    ``/verify?s=…`` URLs in the QR codes."""
    response = FileResponse(WORKER, request=request, content_type="text/javascript")
    response.charset = "utf-8"
    response.headers["Service-Worker-Allowed"] = request.script_name + "/verify"
    response.cache_control.no_cache = True
    return response
