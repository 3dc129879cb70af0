"""A person's consents to apps (連携の許可): what the consent screen records, and what
/my/apps lists and revokes."""
from dataclasses import dataclass

from sqlalchemy import delete, select, update

from ...models import OAuthAuthorizationCode, OAuthClient, OAuthConsent
from .scopes import scope_list
from .tokens import TokenService


@dataclass(frozen=True)
class GrantedApp:
    consent: OAuthConsent
    client: OAuthClient

    @property
    def scopes(self) -> list:
        return scope_list(self.consent.scope)


class ConsentService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings

    def _consent(self, account_id, client_pk) -> OAuthConsent | None:
        return self.dbsession.scalar(select(OAuthConsent).where(
            OAuthConsent.account_id == account_id, OAuthConsent.client_pk == client_pk))

    def covers(self, account, client, scope: str) -> bool:
        """The person allowed this app every scope asked for already (no need to ask)."""
        consent = self._consent(account.id, client.id)
        return consent is not None and set(scope_list(scope)) <= set(consent.scope.split())

    def grant(self, account, client, scope: str) -> OAuthConsent:
        """Record the person's yes: the scopes join those allowed before."""
        now = self.clock()
        consent = self._consent(account.id, client.id)
        if consent is None:
            consent = OAuthConsent(account_id=account.id, client_pk=client.id, scope="",
                                   granted_at=now, updated_at=now)
            self.dbsession.add(consent)
        consent.scope = " ".join(scope_list(f"{consent.scope} {scope}"))
        consent.updated_at = now
        self.dbsession.flush()
        return consent

    def apps(self, account) -> list:
        """The apps the person allowed, most recently allowed first (one query)."""
        rows = self.dbsession.execute(
            select(OAuthConsent, OAuthClient)
            .join(OAuthClient, OAuthClient.id == OAuthConsent.client_pk)
            .where(OAuthConsent.account_id == account.id)
            .order_by(OAuthConsent.updated_at.desc(), OAuthConsent.id.desc())).all()
        return [GrantedApp(consent, client) for consent, client in rows]

    def revoke(self, account, client_id: str) -> bool:
        """Withdraw the consent, revoke every token of the app for the person and void
        the codes not exchanged yet. False when the person had not allowed that app."""
        client = self.dbsession.scalar(select(OAuthClient).where(
            OAuthClient.client_id == client_id))
        if client is None or self._consent(account.id, client.id) is None:
            return False
        self.dbsession.execute(delete(OAuthConsent).where(
            OAuthConsent.account_id == account.id, OAuthConsent.client_pk == client.id))
        self.dbsession.execute(
            update(OAuthAuthorizationCode)
            .where(OAuthAuthorizationCode.account_id == account.id,
                   OAuthAuthorizationCode.client_pk == client.id,
                   OAuthAuthorizationCode.used_at.is_(None))
            .values(used_at=self.clock()).execution_options(synchronize_session=False))
        TokenService(self.dbsession, clock=self.clock, settings=self.settings).revoke_for(
            account.id, client.id)
        return True
