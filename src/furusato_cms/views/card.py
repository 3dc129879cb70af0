"""The registration card (/my/card, 登録証): printable, and readable offline once opened.

Offline: the card page links a web app manifest (/my/manifest.webmanifest) and loads
static/card.js, which registers a service worker served from /my/sw.js with the scope
/my/card and puts the card and its stylesheets into the worker's Cache Storage.

Every signed-in response carries ``Cache-Control: no-store`` (tweens.py), and that is
kept: it keeps the card out of the browser's HTTP cache and shared caches. The Cache
Storage a service worker writes to is a separate store that HTTP caching headers do not
govern, so the worker still keeps its own copy of the card. It answers from the network
first and falls back to that copy only when offline, and drops the copy as soon as the
network says the person is no longer signed in, so a signed-out browser does not keep
showing someone's card.

The worker script and the manifest are served under /my/ for registrants only: the
worker's default scope is then /my/ without an extra header, and a browser that is
signed out simply fails to update the worker and keeps the one it has.

Each registration on the card has a QR code with a signed statement valid for a few
minutes (services/card_statements.py), which facility staff check at /verify. A copy of
the card shown later from the worker's cache hides codes whose time has passed
(static/card-qr.js); the statements expire anyway.
"""
import json

import segno

from pyramid.path import AssetResolver
from pyramid.response import FileResponse, Response
from pyramid.view import view_config

from ..i18n import _
from ..permissions import Permissions as P
from ..resources.my import MyArea
from ..services.card_statements import CardStatementService, long_stay_shown
from ..services.registration import Card, RegistrationService
from .registration import DISPLAY

WORKER = AssetResolver().resolve("furusato_cms:static/sw.js").abspath()
CARD_SCOPE = "/my/card"


@view_config(context=MyArea, name="card", request_method="GET", renderer="my/card.jinja2",
             permission=P.REGISTRANT_SELF)
def card(request):
    account = request.identity.account
    listing = request.service(RegistrationService).listing(account)
    card = Card(registrations=[r for r in listing.registrations if r.state == "active"],
                verification=listing.verification)
    statements = request.service(CardStatementService).issue(card.registrations)
    return {
        "account": account,
        "card": card,
        "statements": statements,
        "qr_codes": {rid: qr_data_uri(s.url) for rid, s in statements.items()},
        "long_stay_shown": long_stay_shown,
        "as_of": request.clock(),
        "scope": request.application_url + CARD_SCOPE,
        **DISPLAY,
    }


CARD_QR_MASK = 0
"""One fixed mask pattern: choosing the best of the eight took four fifths of the code's
11 ms, ten codes a card page (issue 16); every mask is a valid code, and the choice only
avoids patterns that trouble old printers' and scanners' edge cases, not a phone reading a
phone's screen. Posters, printed once, still get the chosen mask."""


def qr_data_uri(url: str) -> str:
    """The QR code as an SVG data URI, so the card page needs no extra request."""
    return segno.make(url, error="m", mask=CARD_QR_MASK).svg_data_uri(scale=4, border=4)


@view_config(context=MyArea, name="sw.js", request_method="GET",
             permission=P.REGISTRANT_SELF)
def service_worker(request):
    response = FileResponse(WORKER, request=request, content_type="text/javascript")
    response.charset = "utf-8"
    return response


@view_config(context=MyArea, name="manifest.webmanifest", request_method="GET",
             permission=P.REGISTRANT_SELF)
def manifest(request):
    translate = request.localizer.translate
    start = request.application_url + CARD_SCOPE
    body = {
        "name": translate(_("Furusato resident registration card")),
        "short_name": translate(_("Registration card")),
        "lang": request.locale_name,
        "start_url": start,
        "scope": start,
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#1d5b3a",
    }
    return Response(
        body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        content_type="application/manifest+json",
        charset="utf-8",
    )
