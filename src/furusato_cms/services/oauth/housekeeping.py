"""Clearing what OAuth no longer needs (daily, ``furusato-oauth-purge``): codes, tokens
that can no longer be used (a day after their last possible use, so a late reuse of a
refresh token is still recognised until it expired), used assertion ids past their
expiry, and rate-limit windows an hour old. Consents and clients stay."""
from datetime import timedelta

from sqlalchemy import delete, func

from ...models import ApiRateWindow, OAuthAssertionJti, OAuthAuthorizationCode, OAuthToken

GRACE = timedelta(days=1)


class OAuthHousekeeping:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings

    def purge(self) -> dict:
        """Delete, set-based, and say how many rows of each went."""
        now = self.clock()
        statements = {
            "codes": delete(OAuthAuthorizationCode).where(
                OAuthAuthorizationCode.expires_at < now - GRACE),
            "tokens": delete(OAuthToken).where(func.coalesce(
                OAuthToken.refresh_expires_at, OAuthToken.access_expires_at) < now - GRACE),
            "assertion_ids": delete(OAuthAssertionJti).where(OAuthAssertionJti.expires_at < now),
            "rate_windows": delete(ApiRateWindow).where(
                ApiRateWindow.window_started_at < now - timedelta(hours=1)),
        }
        return {name: self.dbsession.execute(
            statement.execution_options(synchronize_session=False)).rowcount
            for name, statement in statements.items()}
