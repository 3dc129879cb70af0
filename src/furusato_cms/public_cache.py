"""A cache of the pages anonymous visitors read (公開ページのキャッシュ).

Most traffic is people without an account reading a municipality's page and its news;
rendering those from the database for every request wastes the cores a festival's check-ins
need. A view opts in with :func:`cache_publicly`; the tween then keeps the finished response
for requests that carry neither a sign-in nor a session cookie (nothing personal, no flash
message, no CSRF token can be in such a page) and the same language.

Entries end at the earliest of: the configured lifetime (``furusato.public_cache_seconds``,
a safety net), the next scheduled publish or expiry the view names, and any committed change
to what public pages show (sites, content, tags, images). A commit in this process drops the
cache at once; on PostgreSQL the commit also sends ``NOTIFY`` (delivered only if the
transaction commits) and every app process listens, so all processes drop theirs. While a
process is not listening (starting, or its listening connection broke), it serves nothing
from the cache.
"""
import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain
from weakref import WeakSet

import psycopg
from pyramid.response import Response
from pyramid.tweens import INGRESS
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from .i18n import DEFAULT_LOCALE, LOCALE_COOKIE, LOCALES
from .models import ContentItem, ContentTag, Image, Site, StatsSnapshot
from .security import AUTH_COOKIE
from .templating import SESSION_COOKIE

log = logging.getLogger(__name__)

CHANNEL = "furusato_public_pages"
PUBLIC_MODELS = (Site, ContentItem, ContentTag, Image, StatsSnapshot)
"""What public pages show; a new statistics snapshot changes the national dashboard."""
PRIVATE_COOKIES = (AUTH_COOKIE, SESSION_COOKIE)
CACHEABLE_UNTIL = "furusato.public_cache.until"
CHANGED = "furusato.public_changed"
LISTEN_TIMEOUT = 30.0
RECONNECT_SECONDS = 5.0
_CACHES_IN_THIS_PROCESS = WeakSet()


@dataclass(frozen=True)
class StoredPage:
    status: str
    headerlist: tuple
    body: bytes
    expires_at: datetime
    generation: int

    def response(self):
        return Response(status=self.status, headerlist=list(self.headerlist), body=self.body)


class PublicPageCache:
    """Finished public pages of this process, least recently used dropped first."""

    def __init__(self, *, max_age: timedelta, max_entries: int, listen_dsn: str | None):
        self.max_age = max_age
        self.max_entries = max_entries
        self.listen_dsn = listen_dsn
        self.generation = 0
        self.trusted = listen_dsn is None
        self._entries = OrderedDict()
        self._lock = threading.Lock()
        self._listener_pid = None
        self._closed = threading.Event()
        _CACHES_IN_THIS_PROCESS.add(self)

    def get(self, key, now: datetime) -> StoredPage | None:
        if not self.trusted:
            return None
        with self._lock:
            page = self._entries.get(key)
            if page is None:
                return None
            if page.generation != self.generation or page.expires_at <= now:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return page

    def put(self, key, page: StoredPage) -> None:
        with self._lock:
            if page.generation != self.generation:
                return
            self._entries[key] = page
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def invalidate(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()

    def __len__(self):
        return len(self._entries)

    def ensure_listening(self) -> None:
        """Start this process's listener once (after a fork, again in the child)."""
        if self.listen_dsn is None or self._listener_pid == os.getpid():
            return
        with self._lock:
            if self._listener_pid == os.getpid():
                return
            self._listener_pid = os.getpid()
            self.trusted = False
        threading.Thread(target=self._listen_forever, name="public-cache-listener",
                         daemon=True).start()

    def close(self) -> None:
        """Stop listening (within LISTEN_TIMEOUT) and serve nothing more from the cache."""
        self._closed.set()
        self.trusted = False
        self.invalidate()

    def _listen_forever(self) -> None:
        while not self._closed.is_set():
            try:
                self._listen_once()
            except psycopg.Error as exc:
                log.warning("public page cache not listening (%s); retrying", type(exc).__name__)
            self.trusted = False
            self.invalidate()
            self._closed.wait(RECONNECT_SECONDS)

    def _listen_once(self) -> None:
        with psycopg.connect(self.listen_dsn, autocommit=True) as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            # Changes made before LISTEN took effect were never heard: start empty.
            self.invalidate()
            self.trusted = not self._closed.is_set()
            while not self._closed.is_set():
                for _notification in connection.notifies(timeout=LISTEN_TIMEOUT):
                    self.invalidate()
                connection.execute("SELECT 1")


def cache_publicly(request, until: datetime | None = None) -> None:
    """Let the tween keep this view's page for anonymous visitors, at most ``until``
    (the next scheduled publish or expiry that would change it)."""
    request.environ[CACHEABLE_UNTIL] = until


def may_keep(request) -> bool:
    """Whether this request's page could be kept at all (the cache is on and the visitor
    anonymous): a view need not work out how long a page may be kept otherwise."""
    return "public_page_cache" in request.registry and cache_key(request) is not None


def cache_key(request):
    """The key of a request the cache may answer, or None (signed in, mid-session, not GET)."""
    if request.method != "GET":
        return None
    cookies = request.cookies
    if any(name in cookies for name in PRIVATE_COOKIES):
        return None
    locale = cookies.get(LOCALE_COOKIE)
    return request.host_url, request.path_qs, locale if locale in LOCALES else DEFAULT_LOCALE


def _storable(request, response) -> bool:
    return (
        CACHEABLE_UNTIL in request.environ
        and response.status_code == 200
        and "Set-Cookie" not in response.headers
    )


def public_page_cache_tween_factory(handler, registry):
    cache = registry.get("public_page_cache")
    if cache is None:
        return handler

    def tween(request):
        key = cache_key(request)
        if key is None:
            return handler(request)
        cache.ensure_listening()
        now = request.clock()
        page = cache.get(key, now)
        if page is not None:
            return page.response()
        generation, trusted = cache.generation, cache.trusted
        response = handler(request)
        if trusted and _storable(request, response):
            until = request.environ[CACHEABLE_UNTIL]
            expires_at = now + cache.max_age if until is None else min(now + cache.max_age, until)
            cache.put(key, StoredPage(response.status, tuple(response.headerlist),
                                      response.body, expires_at, generation))
        return response

    return tween


def _touches_public(session) -> bool:
    """Whether the session's pending (new, changed, deleted) objects include public ones."""
    return any(isinstance(obj, PUBLIC_MODELS)
               for obj in chain(session.new, session.dirty, session.deleted))


@event.listens_for(Session, "after_flush")
def _note_flushed_changes(session, flush_context):
    if not session.info.get(CHANGED) and _touches_public(session):
        session.info[CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_changes(orm_execute_state):
    if orm_execute_state.is_update or orm_execute_state.is_delete:
        mapper = orm_execute_state.bind_mapper
        if mapper is not None and issubclass(mapper.class_, PUBLIC_MODELS):
            orm_execute_state.session.info[CHANGED] = True


@event.listens_for(Session, "before_commit")
def _tell_other_processes(session):
    if not (session.info.get(CHANGED) or _touches_public(session)):
        return
    session.info[CHANGED] = True
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


@event.listens_for(Session, "after_commit")
def _drop_this_process_pages(session):
    if session.info.pop(CHANGED, False):
        for cache in list(_CACHES_IN_THIS_PROCESS):
            cache.invalidate()


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back_changes(session):
    session.info.pop(CHANGED, None)


def listen_dsn(url) -> str | None:
    """A libpq address for LISTEN, or None where one process is all there is (SQLite)."""
    url = make_url(url)
    if url.get_backend_name() != "postgresql":
        return None
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def includeme(config):
    settings = config.registry["app_settings"]
    if settings.public_cache_seconds <= 0:
        return
    config.registry["public_page_cache"] = PublicPageCache(
        max_age=timedelta(seconds=settings.public_cache_seconds),
        max_entries=settings.public_cache_entries,
        listen_dsn=listen_dsn(config.registry["db_engine"].url),
    )
    config.add_tween("furusato_cms.public_cache.public_page_cache_tween_factory",
                     under=INGRESS)
