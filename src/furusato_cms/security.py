"""The security policy: who the request is (a server-side session) and what roles it holds.

Principals:
- ``account:<id>`` for any signed-in account;
- ``role:operator`` for the national operator;
- ``site:<site id>:<role>`` for each staff membership, plus ``site:<id>:reviewer``;
- ``partner:<partner id>`` for staff of a partner organisation.

Staff principals (and the operator's) are granted only when the request comes from an
allowed admin network and the account has passed its TOTP second factor, which every
staff account and the operator must use; until they enrol they are signed in as
themselves only, and ``Identity.must_enrol`` sends them to the set-up page.
Everything else is denied by the resources' ``__acl__`` (deny by default).

Under ``/api/v1/`` the sign-in cookie counts for nothing: a request is who its OAuth bearer
token says (``request.api_grant``, see ``services/oauth``), so no browser's ambient sign-in
can be ridden there and the API needs no CSRF token; ``grant_principals`` lists what a
token gives — never ``kind:``, staff or operator principals.
"""
from dataclasses import dataclass, field

from pyramid.authorization import ACLHelper, Authenticated, Everyone
from sqlalchemy import LABEL_STYLE_TABLENAME_PLUS_COL, bindparam, case, select

from .models import GENERIC_PLAN, Account, AuthSession, StaffMembership
from .models.compiled_reads import KnownBy
from .models.row_entities import EntityColumns, columns_of
from .services.audit import Actor
from .services.authentication import (
    SessionService,
    account_actor,
    hash_token,
    second_factor_required,
)
from .services.oauth import (
    REGISTRANT_SCOPES,
    SITE_SCOPES,
    ApiGrant,
    TokenService,
    bearer_token,
)
from .services.notifications import unread_messages
from .services.paging import Read, finished, read_first_with, reads_in_one_statement
from .services.policies import terms_due

AUTH_COOKIE = "furusato_auth"
TOKEN_PRINCIPAL = "oauth:token"
"""Any request with a valid bearer token."""


@dataclass
class Identity:
    account: Account
    auth_session: object
    memberships: list = field(default_factory=list)
    terms_due: bool = False
    """The account has not accepted the current terms of use (利用規約)."""
    must_enrol: bool = False
    """Staff or the operator without two-step sign-in: no staff rights until set up."""
    unread_count: int = 0
    """Unread inbox messages (受信箱の未読) of a registrant, for the header."""

    @property
    def second_factor_done(self) -> bool:
        return self.auth_session.second_factor_at is not None

    @property
    def is_staff(self) -> bool:
        return bool(self.memberships) or self.must_enrol or second_factor_required(
            self.account, holds_staff_role=False)


_SESSION, _ACCOUNT, _MEMBERSHIP = (EntityColumns(model)
                                   for model in (AuthSession, Account, StaffMembership))
IDENTITY_QUERY = (
    select(*columns_of(_SESSION, _ACCOUNT, _MEMBERSHIP),
           terms_due(Account.id).label("terms_due"),
           case((Account.kind == "registrant", unread_messages(Account.id)), else_=0)
           .label("unread_count"))
    .join(Account, Account.id == AuthSession.account_id)
    .outerjoin(StaffMembership, StaffMembership.account_id == Account.id)
    .where(AuthSession.token_hash == bindparam("token_hash"))
    .order_by(StaffMembership.id)
    .set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL)
    .execution_options(**GENERIC_PLAN)
)
"""A session by its token's hash with its account, one row per staff membership (one
row with no membership for everybody else), whether the account still has to accept
the current terms, and a registrant's unread messages (the header shows the number on
every page); read as columns and made into the objects (models/row_entities.py); built
once, each request binds the hash."""


ACCOUNT_ID_BY_TOKEN = select(AuthSession.account_id).where(
    AuthSession.token_hash == bindparam("token_hash"))
_READ_WITH_IDENTITY = "furusato.read_with_identity"
_READ_AHEAD = "furusato.read_ahead"


def read_with_identity(request, reads_for):
    """Send ``reads_for(account)``'s reads (``services.paging.Read``) in the statement
    that loads the signed-in identity, when it is still to load and reads combine: a
    signed-in page then costs one round trip, not two (issue 16). Traversal asks, for
    a page it knows; the view takes them with ``read_ahead``. They are kept only for
    a valid session (the account's own, its second factor done), and only shown
    through the view's permission check."""
    if "furusato.identity" not in request.environ and reads_in_one_statement(
            request.dbsession):
        request.environ[_READ_WITH_IDENTITY] = reads_for


def read_ahead(request):
    """Once the identity is loaded: what ``read_with_identity``'s reads gave (as their
    ``finish`` makes them), or None when they were not read with it."""
    return request.environ.get(_READ_AHEAD)


def is_api_request(request) -> bool:
    """The open API's operations (/api/v1/…): bearer tokens, never cookies. (The
    reference page /api/docs is a page like any other.)"""
    return request.path_info.startswith("/api/v1/")


def csrf_applies(request) -> bool:
    """CSRF tokens protect cookie-authenticated forms; the API authenticates by bearer
    token only (the Authorization header is never sent by a browser on its own)."""
    return not is_api_request(request)


def api_grant(request) -> ApiGrant | None:
    """The valid bearer token's grant on an API request, else None (see
    ``services/oauth``); ``request.environ["furusato.bearer_given"]`` says whether a token
    was sent at all, so a refusal can say ``invalid_token``."""
    if not is_api_request(request):
        return None
    token = bearer_token(request.headers.get("Authorization"))
    request.environ["furusato.bearer_given"] = token is not None
    if not token:
        return None
    return TokenService(request.dbsession, clock=request.clock,
                        settings=request.app_settings).grant_for(token)


def grant_principals(grant: ApiGrant) -> list:
    """What a bearer token makes its request: the client; for a person's token the person
    and its registrant scopes; for a municipal client its site and site scopes."""
    principals = [TOKEN_PRINCIPAL, f"oauth:client:{grant.client.client_id}"]
    if grant.account is not None:
        principals += [Authenticated, f"account:{grant.account.id}"]
        principals += [f"oauth:scope:{scope}"
                       for scope in sorted(grant.scopes & REGISTRANT_SCOPES)]
    if grant.site_id is not None:
        site_scopes = sorted(grant.scopes & SITE_SCOPES)
        principals.append(f"oauth:site:{grant.site_id}")
        principals += [f"oauth:scope:{scope}" for scope in site_scopes]
        principals += [f"oauth:site:{grant.site_id}:scope:{scope}" for scope in site_scopes]
    return principals


def site_principal(site_id, role) -> str:
    return f"site:{site_id}:{role}"


def partner_principal(partner_id) -> str:
    """Staff of a partner organisation (関係団体): rights over that partner's projects only."""
    return f"partner:{partner_id}"


class FurusatoSecurityPolicy:
    def __init__(self, settings):
        self.settings = settings
        self.acl = ACLHelper()

    def _session_service(self, request):
        return SessionService(request.dbsession, clock=request.clock, settings=self.settings)

    def _load(self, request):
        """Every request of a signed-in person starts here, so it is one query: the
        session, its account and the account's staff memberships together."""
        token = request.cookies.get(AUTH_COOKIE)
        if not token:
            return None
        dbsession = request.dbsession
        token_hash = hash_token(token)
        reads_for = request.environ.pop(_READ_WITH_IDENTITY, None)
        ahead = (reads_for(KnownBy(ACCOUNT_ID_BY_TOKEN, {"token_hash": token_hash}))
                 if reads_for else [])
        rows, lists = read_first_with(
            dbsession, Read(IDENTITY_QUERY, {"token_hash": token_hash}, lambda rows: rows.all()),
            ahead)
        if not rows:
            return None
        first = rows[0]
        auth_session = _SESSION.entity(dbsession, first)
        account = _ACCOUNT.entity(dbsession, first)
        if self._session_service(request).live(auth_session) is None:
            return None
        if account.disabled_at is not None:
            return None
        if account.has_totp and auth_session.second_factor_at is None:
            return None
        memberships = [membership for membership in
                       (_MEMBERSHIP.entity(dbsession, row) for row in rows)
                       if membership is not None]
        known = {"terms_due": bool(first[-2]), "unread_count": first[-1]}
        if ahead:
            request.environ[_READ_AHEAD] = finished(ahead, lists)
        if not account.has_totp and second_factor_required(account, bool(memberships)):
            return Identity(account=account, auth_session=auth_session, must_enrol=True,
                            **known)
        return Identity(account=account, auth_session=auth_session, memberships=memberships,
                        **known)

    def identity(self, request):
        if is_api_request(request):
            return None
        if "furusato.identity" not in request.environ:
            request.environ["furusato.identity"] = self._load(request)
        return request.environ["furusato.identity"]

    def authenticated_userid(self, request):
        if is_api_request(request):
            grant = request.api_grant
            return grant.account.id if grant is not None and grant.account else None
        identity = self.identity(request)
        return None if identity is None else identity.account.id

    def effective_principals(self, request):
        principals = [Everyone]
        if is_api_request(request):
            grant = request.api_grant
            return principals if grant is None else principals + grant_principals(grant)
        identity = self.identity(request)
        if identity is None:
            return principals
        account = identity.account
        principals += [Authenticated, f"account:{account.id}", f"kind:{account.kind}"]
        if identity.must_enrol or not self.settings.admin_allowed_from(request.remote_addr):
            return principals
        if account.is_operator:
            principals.append("role:operator")
        for membership in identity.memberships:
            principals.append(site_principal(membership.site_id, membership.role))
            if membership.is_reviewer:
                principals.append(site_principal(membership.site_id, "reviewer"))
            if membership.partner_id is not None:
                principals.append(partner_principal(membership.partner_id))
        return principals

    def permits(self, request, context, permission):
        return self.acl.permits(context, self.effective_principals(request), permission)

    def remember(self, request, token, **kw):
        return [("Set-Cookie", _cookie(request, token, self.settings))]

    def forget(self, request, **kw):
        request.environ.pop("furusato.identity", None)
        return [("Set-Cookie", _cookie(request, "", self.settings, max_age=0))]


def _cookie(request, value, settings, max_age=None):
    from webob.cookies import make_cookie

    return make_cookie(
        AUTH_COOKIE,
        value,
        max_age=max_age,
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="Lax",
    )


def request_actor(request) -> Actor:
    """Who acts, for the audit log; an API client is named by its client id."""
    if is_api_request(request) and request.api_grant is not None:
        grant = request.api_grant
        return Actor(account_id=grant.account.id if grant.account else None,
                     label=f"api:{grant.client.client_id}", client_addr=request.remote_addr or "")
    identity = request.identity
    if identity is None:
        return Actor(account_id=None, label="anonymous", client_addr=request.remote_addr or "")
    return account_actor(identity.account, request.remote_addr)


def includeme(config):
    settings = config.registry["app_settings"]
    config.set_security_policy(FurusatoSecurityPolicy(settings))
    config.add_request_method(request_actor, "actor", reify=True)
    config.add_request_method(api_grant, "api_grant", reify=True)
