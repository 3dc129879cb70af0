"""OAuth clients and bearer tokens for API tests, without running the flow.

    client = make_client(dbsession)                          # a national public app
    token = make_token(dbsession, client, account=person)    # all the client's scopes
    testapp.get("/api/v1/...", headers=bearer(token))

    town = make_client(dbsession, site=site, kind="confidential")   # site.* scopes
    token = make_token(dbsession, town, scopes=["site.attendance.read"])
"""
import secrets
from datetime import timedelta

from sqlalchemy import select

from furusato_cms.models import OAuthClient, OAuthConsent, OAuthToken
from furusato_cms.services.authentication import hash_token
from furusato_cms.services.oauth import REGISTRANT_SCOPES, SITE_SCOPES, new_secret, scope_list
from furusato_cms.services.oauth.tokens import ACCESS_PREFIX, SECRET_PREFIX, new_family_id

from .conftest import NOW
from .factories import T0

REDIRECT_URI = "http://127.0.0.1:8765/callback"


def make_client(dbsession, site=None, *, kind="public", scopes=None, name="ふるさとアプリ",
                owner_name="テスト株式会社", redirect_uris=(REDIRECT_URI,), auth_method=None,
                secret=None, jwks=None, suspended=False, created_by=None):
    """A registered client. Public clients get every registrant scope; confidential ones of
    a site every site scope; a confidential client has ``.secret`` (its raw secret) unless
    it authenticates with ``private_key_jwt`` (pass ``jwks``)."""
    if scopes is None:
        scopes = sorted(SITE_SCOPES if kind == "confidential" and site else REGISTRANT_SCOPES)
    if auth_method is None:
        auth_method = ("none" if kind == "public"
                       else "private_key_jwt" if jwks else "client_secret")
    if auth_method == "client_secret" and secret is None:
        secret = new_secret(SECRET_PREFIX)
    client = OAuthClient(
        client_id="fc_" + secrets.token_urlsafe(12), name=name, owner_name=owner_name,
        site_id=site.id if site is not None else None, kind=kind, auth_method=auth_method,
        redirect_uris=list(redirect_uris), scopes=scope_list(" ".join(scopes)),
        secret_hash=hash_token(secret) if secret else None,
        secret_created_at=T0 if secret else None, jwks=jwks,
        suspended_at=T0 if suspended else None,
        created_by_id=created_by.id if created_by is not None else None,
        created_at=T0, updated_at=T0,
    )
    dbsession.add(client)
    dbsession.flush()
    client.secret = secret
    return client


def make_token(dbsession, client, account=None, *, scopes=None, issued_at=None,
               expires_in=3600, revoked=False, consent=True) -> str:
    """A live access token of ``client`` (for ``account``, or the client itself), with
    the given scopes or all the client's, issued at the tests' clock (``NOW``) and valid
    ``expires_in`` seconds; returns the raw bearer token. A token for a person also
    records the person's consent (``consent=False`` leaves it out)."""
    issued_at = issued_at or NOW
    scope = " ".join(scope_list(" ".join(client.scopes if scopes is None else scopes)))
    token = new_secret(ACCESS_PREFIX)
    dbsession.add(OAuthToken(
        client_pk=client.id, account_id=account.id if account is not None else None,
        scope=scope, access_token_hash=hash_token(token), family_id=new_family_id(),
        issued_at=issued_at, access_expires_at=issued_at + timedelta(seconds=expires_in),
        revoked_at=issued_at if revoked else None,
    ))
    if account is not None and consent:
        existing = dbsession.scalar(select(OAuthConsent).where(
            OAuthConsent.account_id == account.id, OAuthConsent.client_pk == client.id))
        if existing is None:
            dbsession.add(OAuthConsent(account_id=account.id, client_pk=client.id, scope=scope,
                                       granted_at=issued_at, updated_at=issued_at))
    dbsession.flush()
    return token


def bearer(token: str) -> dict:
    """The header that sends ``token``."""
    return {"Authorization": f"Bearer {token}"}
