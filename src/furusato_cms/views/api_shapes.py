"""How the open API writes what it returns (openapi/openapi.yaml): times, sites,
registrations, pages — shared by every API view module so one thing has one shape."""
from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound

from ..i18n import _
from ..services.directory import SiteDirectory


def url_for(request, *parts) -> str:
    return "/".join([request.application_url, *parts])


def when(moment) -> str:
    """UTC, ISO 8601 with ``Z``."""
    return moment.isoformat().replace("+00:00", "Z")


def when_or_none(moment):
    return None if moment is None else when(moment)


def label(request, labels, key):
    return request.localizer.translate(labels.get(key, key))


def query_of(request) -> dict:
    return request.openapi_validated.parameters.query


def page_of(items, found) -> dict:
    return {"items": items, "next_cursor": found.next_cursor}


def site_json(request, site) -> dict:
    return {"code": site.code, "name": site.name, "name_kana": site.name_kana,
            "kind": site.kind, "prefecture_code": site.prefecture_code,
            "url": url_for(request, "s", site.code, "")}


def public_site(request):
    """The public site the path names; a 404 problem (see views/api.py) when none is."""
    code = request.openapi_validated.parameters.path["code"]
    site = request.service(SiteDirectory).active_site(code)
    if site is None:
        raise HTTPNotFound(_("No participating local government has this code."))
    return site


def acting_person(request):
    """The account the token acts for; only a registrant's app may act for a person."""
    account = request.api_grant.account
    if account is None or account.kind != "registrant":
        raise HTTPForbidden(_("This token does not act for a registrant."))
    return account


def registration_json(request, registration) -> dict:
    derived = registration.derived_from
    return {"id": registration.id, "site": site_json(request, registration.site),
            "tier": registration.tier, "state": registration.state,
            "registered_at": when(registration.registered_at),
            "premium_until": when_or_none(registration.premium_until),
            "derived_from": derived.site.code if derived is not None else None}
