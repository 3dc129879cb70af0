"""The API side of OAuth: a sent bearer token is checked before any API view runs (a bad
one is a 401 on every endpoint, RFC 6750 §3.1), counted against the rate limit, and a
municipal client's reads of personal data are audited (``audit_api_read``)."""
from pyramid.events import ContextFound, subscriber
from pyramid.view import view_config

from ..permissions import Permissions as P
from ..security import is_api_request
from ..services.audit import AuditLog
from ..services.oauth import bearer_token
from ..services.oauth.ratelimit import ApiRateLimiter


class InvalidToken(Exception):
    """A bearer token was sent and is unknown, expired or revoked (views/api.py: 401)."""


class RateLimited(Exception):
    """Over ``furusato.api_rate_per_minute`` (views/api.py: 429 with Retry-After)."""

    def __init__(self, decision):
        super().__init__("rate limited")
        self.decision = decision


@subscriber(ContextFound)
def check_bearer_token(event):
    """Count the request (in a transaction of its own, before the request's own reads),
    then refuse a bad token or one over its limit."""
    request = event.request
    if not is_api_request(request):
        return
    token = bearer_token(request.headers.get("Authorization"))
    if token is None:
        return
    decisions = []

    def count(session):
        decisions.append(ApiRateLimiter(session, clock=request.clock,
                                        settings=request.app_settings).count_token(token))

    if token:
        request.write_apart(count)
    decision = decisions[0] if decisions else None
    request.add_response_callback(lambda request, response: _headers(response, decision))
    if request.api_grant is None:
        raise InvalidToken()
    if not decision.allowed:
        raise RateLimited(decision)


def _headers(response, decision):
    """Answers to a token are somebody's data: no cache keeps them."""
    response.headers["Cache-Control"] = "no-store"
    if decision is not None:
        response.headers["RateLimit-Limit"] = str(decision.limit)
        response.headers["RateLimit-Remaining"] = str(decision.remaining)


def audit_api_read(request, subject_account_ids, what: str):
    """Record in the audit log that this API request read personal data of these people
    (``what`` names the data, e.g. ``"registrations"``), with the client's id. Every read
    of personal data by a municipal client must call it; a person's own app reading the
    person's own data need not (it is logged only when the client is municipal)."""
    grant = request.api_grant
    if grant is None or grant.site_id is None:
        return None
    ids = sorted({int(account_id) for account_id in subject_account_ids})
    return AuditLog(request.dbsession, request.clock).record(
        request.actor, "api.read", site_id=grant.site_id,
        target=("OAuthClient", grant.client.client_id), what=what, accounts=ids,
        count=len(ids), path=request.path)


@view_config(route_name="api_token_info", request_method="GET", renderer="json", openapi=True,
             permission=P.API_TOKEN)
def token_info(request):
    """GET /api/v1/token-info: what the sent token is (any valid token may ask)."""
    grant = request.api_grant
    client = grant.client
    return {"client_id": client.client_id, "client_name": client.name,
            "scopes": sorted(grant.scopes),
            "expires_at": grant.token.access_expires_at.isoformat().replace("+00:00", "Z"),
            "account_id": grant.account.id if grant.account else None,
            "site_code": client.site.code if client.site_id else None}
