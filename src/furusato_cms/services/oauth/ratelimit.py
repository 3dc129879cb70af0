"""The API's rate limit (利用回数の制限): requests per key and one-minute window.

Counted in the database (``api_rate_windows``), not in each process: production runs
several app processes (and machines) behind a load balancer, where an in-process window
would allow the limit once per process and forget it at every restart. One
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` per request (both databases), run by the
caller in a short transaction of its own (``request.write_apart``, before the request's
own transaction reads anything), so the key's row is locked for that statement's commit
only, not for the whole API request. A fixed window
is enough here: it bounds a client to at most twice the limit across a window edge.
When the database is down the request fails with it (503): the limiter never fails open.
"""
import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Integer, bindparam, case, select
from sqlalchemy.dialects import postgresql, sqlite

from ...models import ApiRateWindow, OAuthToken
from ...models.meta import UTCDateTime
from ..authentication import hash_token

WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int
    """Seconds until the window ends (at least 1)."""


def _build_statement(dialect):
    table = ApiRateWindow.__table__
    now = bindparam("now", type_=UTCDateTime())
    over = table.c.window_started_at <= bindparam("window_start", type_=UTCDateTime())
    statement = dialect.insert(table).values(key=bindparam("key"), window_started_at=now,
                                             count=1)
    return statement.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"count": case((over, 1), else_=table.c.count + bindparam("one", 1, Integer())),
              "window_started_at": case((over, now), else_=table.c.window_started_at)},
    ).returning(table.c.count, table.c.window_started_at)


STATEMENTS = {"postgresql": _build_statement(postgresql), "sqlite": _build_statement(sqlite)}


def rate_key(client_pk: int, account_id: int | None) -> str:
    """Where a token's requests are counted: its client, and the person when it acts for
    one (one national app serves millions of people; each gets the limit)."""
    if account_id is None:
        return f"client:{client_pk}"
    return f"client:{client_pk}:account:{account_id}"


class ApiRateLimiter:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings

    def count(self, key: str) -> RateDecision:
        """Count one request on ``key``; allowed while the window's count is within the
        limit (``furusato.api_rate_per_minute``)."""
        now, limit = self.clock(), self.settings.api_rate_per_minute
        count, started = self.dbsession.execute(
            STATEMENTS[self.dbsession.bind.dialect.name],
            {"key": key, "now": now, "window_start": now - WINDOW},
        ).one()
        retry_after = max(1, math.ceil((started + WINDOW - now).total_seconds()))
        return RateDecision(allowed=count <= limit, limit=limit,
                            remaining=max(0, limit - count), retry_after=retry_after)

    def count_token(self, access_token: str) -> RateDecision | None:
        """Count one request of the token's client (and person); None for a token that
        was never issued (it is refused as invalid, nobody's limit is touched)."""
        found = self.dbsession.execute(
            select(OAuthToken.client_pk, OAuthToken.account_id)
            .where(OAuthToken.access_token_hash == hash_token(access_token))
        ).one_or_none()
        return None if found is None else self.count(rate_key(*found))
