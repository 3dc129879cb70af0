"""Read replicas (読み取り専用レプリカ): public reads go to a streaming replica, everything
else stays on the primary.

``furusato.replica_urls`` names one or more PostgreSQL hot standbys (comma or newline
separated). A view declared with ``replica=True`` — public pages, the activity search,
open statistics, the public API — reads through ``request.read_dbsession`` (and the
services ``request.service`` builds) from a replica, but only for anonymous visitors:
anyone signed in may just have written what they are about to look at (a published post,
their registration), so they read their own writes from the primary. Statistics exports
(``replica="always"``) read from a replica for staff too: nothing in them is a write the
reader just made.

A replica is used only while it is fresh enough: it must have replayed at least the WAL
position the primary had ``furusato.replica_max_lag_seconds`` ago (default 5) — taken
from the first check at or after that moment, which can only ask for more. Each app
process checks at most every ``furusato.replica_check_seconds`` (default 1): one
``pg_current_wal_lsn()`` on the primary, one ``pg_last_wal_replay_lsn()`` per replica.
That bounds staleness in time even when the primary is idle, which a replay timestamp
would not. A replica that cannot be reached, or that lags, is skipped until a later
check finds it well again; with none usable the primary serves — a visitor never sees an
error because a replica is down. A session on a replica refuses to flush, so a public
view that starts writing fails loudly in tests rather than silently on a standby.
"""
import logging
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

REPLICA_ENVIRON = "furusato.replica_reads"


CONNECT_TIMEOUT_SECONDS = 2
"""A replica that does not answer within this is skipped rather than waited for."""


def replica_urls(settings) -> list:
    raw = settings.get("furusato.replica_urls") or ""
    return [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]


def replica_engine(url: str, settings, timeouts):
    """An engine for one standby: the web's statement time-out, a short connect time-out,
    and a ping at checkout so a pooled connection to a standby that went away is noticed
    before a page uses it."""
    url = make_url(url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    statement_ms, _lock_ms = timeouts
    return create_engine(
        url, pool_pre_ping=True, pool_size=int(settings.get("sqlalchemy.pool_size", 5)),
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS,
                      "options": f"-c statement_timeout={int(statement_ms)}"})


def lsn_value(lsn: str) -> int:
    """A WAL position ``'16/B374D848'`` as a number, for comparisons."""
    high, _, low = lsn.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


@dataclass
class ReplicaSet:
    """The replicas of one process, their last health check and the primary's recent
    WAL positions (``(monotonic time, lsn)``, oldest first)."""

    primary: object
    engines: list
    max_lag_seconds: float = 5.0
    check_seconds: float = 1.0
    clock: object = time.monotonic
    usable: list = field(default_factory=list)
    checked_at: float | None = None
    primary_positions: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def choose(self):
        """An engine of a fresh replica (round robin by time), or None for the primary."""
        self._check_if_due()
        usable = self.usable
        if not usable:
            return None
        return usable[int(self.clock() * 1000) % len(usable)]

    def mark_down(self, engine):
        """A replica failed while in use: skip it until the next check says otherwise."""
        with self.lock:
            self.usable = [each for each in self.usable if each is not engine]

    def _check_if_due(self):
        now = self.clock()
        if self.checked_at is not None and now - self.checked_at < self.check_seconds:
            return
        if not self.lock.acquire(blocking=False):
            return  # another thread is checking; use what is known meanwhile
        try:
            self.checked_at = now
            self.usable = self._fresh_replicas(now)
        finally:
            self.lock.release()

    def _fresh_replicas(self, now) -> list:
        try:
            with self.primary.connect() as connection:
                current = lsn_value(connection.scalar(text("SELECT pg_current_wal_lsn()::text")))
        except DBAPIError:
            return []  # the primary is the problem; requests meet it on their own
        self.primary_positions.append((now, current))
        horizon = now - self.max_lag_seconds
        # The first position seen at or after the horizon is at least what the primary
        # had then (checks are lazy, so one from before it could be far older).
        self.primary_positions = [seen for seen in self.primary_positions if seen[0] >= horizon]
        required = self.primary_positions[0][1]
        return [engine for engine in self.engines if self._replayed(engine) >= required]

    @staticmethod
    def _replayed(engine) -> int:
        try:
            with engine.connect() as connection:
                position = connection.scalar(text("SELECT pg_last_wal_replay_lsn()::text"))
        except DBAPIError as error:
            log.warning("replica %s unusable: %s", engine.url.host, type(error.orig).__name__)
            return -1
        return -1 if position is None else lsn_value(position)


class ReadOnlySessionError(RuntimeError):
    """A view routed to a replica tried to write."""


def _refuse_flush(session, _flush_context, _instances):
    if session.new or session.dirty or session.deleted:
        raise ReadOnlySessionError("this session reads from a replica; write on the primary")


def replica_view(view, info):
    """View deriver: ``@view_config(..., replica=True)`` marks the request as a public
    read that may be served from a replica for anonymous visitors; ``replica="always"``
    for everyone (exports: nothing the reader just wrote is in them)."""
    mode = info.options.get("replica")
    if not mode:
        return view

    def wrapper(context, request):
        request.environ[REPLICA_ENVIRON] = mode
        return view(context, request)

    return wrapper


replica_view.options = ("replica",)


def has_replicas(request) -> bool:
    """Whether public reads may go to a standby here (``furusato.db_replica_urls``)."""
    return request.registry.get("db_replicas") is not None


def read_dbsession(request):
    """The session public reads use: a fresh replica's for anonymous requests of views
    marked ``replica=True``, otherwise the request's own (primary) session."""
    replicas = request.registry.get("db_replicas")
    mode = request.environ.get(REPLICA_ENVIRON)
    if replicas is None or not mode or (
            mode != "always" and request.authenticated_userid is not None):
        return request.dbsession
    engine = replicas.choose()
    if engine is None:
        return request.dbsession
    session = Session(bind=engine, autoflush=False, info={"replica": True})
    event.listen(session, "before_flush", _refuse_flush)
    try:
        session.connection()
    except DBAPIError:
        session.close()
        replicas.mark_down(engine)
        return request.dbsession
    request.add_finished_callback(lambda _request: session.close())
    return session


def includeme(config):
    settings = config.get_settings()
    config.add_view_deriver(replica_view)
    config.add_request_method(read_dbsession, "read_dbsession", reify=True)
    urls = replica_urls(settings)
    if not urls:
        return
    timeouts = config.registry["app_settings"].web_db_timeouts
    engines = [replica_engine(url, settings, timeouts) for url in urls]
    config.registry["db_replicas"] = ReplicaSet(
        primary=config.registry["db_engine"], engines=engines,
        max_lag_seconds=float(settings.get("furusato.replica_max_lag_seconds", 5)),
        check_seconds=float(settings.get("furusato.replica_check_seconds", 1)))
