"""Figures measured over HTTP against waitress subprocesses, loaded by wrk
(bench/http_load.py, scripts in bench/wrk/):

- ``page_ratio``: req/s of a site's public page (intro and latest posts) ÷ req/s of a
  bare Pyramid + Jinja2 page, loaded alternately in the same run, with the site page's
  p99 latency, and ``rss``: the app process's resident memory after that load;
- ``page_uncached_ratio`` (one process and all cores) and ``my_page_ratio``/``my_page_p99``:
  the same site page with the public cache off, and a signed-in registrant's /my/, against
  the same bare page in the same rounds;
- ``checkin_rate``: check-ins per second (出席受付) over HTTP by distinct signed-in
  registrants with a valid poster code, checked against the rows written afterwards, and
  the same run's pgbench TPC-B tps on a scratch database as the reference.
"""
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from furusato_cms.clock import system_clock
from furusato_cms.models import (
    Account,
    ActivitySession,
    Attendance,
    IntroPage,
    Post,
    Project,
    Registration,
    Site,
    TermsAcceptance,
    TermsVersion,
)
from furusato_cms.security import AUTH_COOKIE
from furusato_cms.services.authentication import SessionService
from furusato_cms.services.checkin_tokens import CheckinTokens

import http_load

POSTS = 12
WARM_SECONDS = 1.0
DEADLINE = 600
"""Seconds the check-in load may take at most before wrk is stopped (and the missing
answers reported)."""
IDLE_PATH = "/static/base.css"
"""What a wrk connection asks for while its thread waits for its last check-ins."""


def rss_mb(pid: int) -> float:
    """Resident memory of a running process, from /proc."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def site_with_posts(engine, now) -> str:
    """The code of one municipality site, given a published intro and a dozen published
    posts when the generated data has none (the public page shows both)."""
    with Session(engine) as session:
        site = session.scalars(select(Site).where(Site.kind == "municipality")
                               .order_by(Site.code).limit(1)).one()
        if not session.scalar(select(func.count()).select_from(Post)
                              .where(Post.site_id == site.id)):
            session.add(IntroPage(site_id=site.id, slug=IntroPage.SLUG, title=site.name,
                                  body="ようこそ。\n\n" + "ふるさとの話です。" * 40,
                                  state="published", created_at=now, updated_at=now,
                                  published_at=now))
            session.add_all(
                Post(site_id=site.id, slug=f"news-{n}", title=f"お知らせ {n}",
                     body="本文です。" * 60, state="published", created_at=now,
                     updated_at=now, published_at=now - timedelta(days=n))
                for n in range(POSTS))
            session.commit()
        return site.code


@dataclass
class PageFigures:
    """Side by side in one run: the bare page, the site page from the public cache and
    rendered each time, signed-in /my/, and the uncached site page on every core."""
    bare: "http_load.Load"
    site: "http_load.Load"
    uncached: "http_load.Load"
    my_page: "http_load.Load"
    all_cores: "http_load.Load"
    rss: float

    def ratio(self, load) -> float:
        return load.rate / self.bare.rate


def warm(name, port, path, headers, times=3):
    """A few plain requests before the timed load, each waited for: a slow first render
    (templates compiled, pools filled) must not leave a short round with no answer."""
    for _ in range(times):
        response, _body = http_load.get_page(
            port, path, dict(header.split(": ", 1) for header in headers))
        if response.status != 200:
            raise RuntimeError(f"{name} {path} answered {response.status} before the load")


def registrant_cookie(engine, settings, now) -> str:
    """The auth cookie of one active registrant with registrations, terms accepted and
    nothing left to ask, so /my/ answers its page (not an interstitial)."""
    with Session(engine) as session:
        account = session.scalars(
            select(Account).join(Registration, Registration.account_id == Account.id)
            .where(Account.kind == "registrant", Account.disabled_at.is_(None),
                   Registration.state == "active")
            .order_by(Account.id).limit(1)).one()
        account.ask_relationship_types = False
        version = session.scalar(select(func.max(TermsVersion.version)))
        if version is not None and session.get(TermsAcceptance, (account.id, version)) is None:
            session.add(TermsAcceptance(account_id=account.id, version=version,
                                        accepted_at=now))
        token = SessionService(session, clock=lambda: now, settings=settings).start(
            account, "127.0.0.1", second_factor_done=True)[0]
        session.commit()
    return f"Cookie: {AUTH_COOKIE}={token}"


def page_ratio(engine, ini, settings, *, rounds: int, seconds: float) -> PageFigures:
    """All servers up at once; after a warm-up of each (not counted), each round loads,
    with wrk for ``seconds`` each, the bare page, the site page cached, the site page
    with the cache off, /my/ signed in and the uncached site page served on every core,
    so drift in the machine's load hits all alike. Percentiles are taken over every
    counted request (the rounds' histograms merged). Any non-200 answer or socket error
    is an error."""
    now = system_clock()
    path = f"/s/{site_with_posts(engine, now)}/"
    cookie = registrant_cookie(engine, settings, now)
    uncached = http_load.uncached_ini(ini)
    with http_load.served("app", str(ini)) as (app_port, app_pid), \
            http_load.served("app", str(uncached)) as (plain_port, plain_pid), \
            http_load.served("cores", str(uncached)) as (cores_port, _cores_pid), \
            http_load.served("bare") as (bare_port, _bare_pid):
        targets = {"bare": (bare_port, "/", ()), "site": (app_port, path, ()),
                   "uncached": (plain_port, path, ()), "my_page": (plain_port, "/my/", (cookie,)),
                   "all_cores": (cores_port, path, ())}
        for name, (port, target, headers) in targets.items():
            warm(name, port, target, headers)
            http_load.load(port, target, seconds=WARM_SECONDS, headers=headers)
        totals = {name: http_load.Load() for name in targets}
        for _round in range(rounds):
            for name, (port, target, headers) in targets.items():
                got = http_load.load(port, target, seconds=seconds, headers=headers)
                if set(got.statuses) - {200} or got.errors:
                    raise RuntimeError(f"{name} {target} answered {dict(got.statuses)}, "
                                       f"socket errors {dict(got.errors)}")
                totals[name].add(got)
        idle = [name for name, total in totals.items() if not total.requests]
        if idle:
            raise RuntimeError(f"no answer at all in {rounds} rounds from {idle}")
        memory = max(rss_mb(app_pid), rss_mb(plain_pid))
    return PageFigures(**totals, rss=memory)


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def open_session_now(engine, now) -> int:
    """Move one ordinary session of the first municipality so its check-in window is
    open at the server's real clock; its id."""
    with Session(engine) as session:
        activity = session.scalars(
            select(ActivitySession).join(Project, Project.id == ActivitySession.project_id)
            .join(Site, Site.id == ActivitySession.site_id)
            .where(Site.kind == "municipality", Project.designated.is_(False))
            .order_by(Site.code, ActivitySession.id).limit(1)).one()
        activity.starts_at = now - timedelta(minutes=10)
        activity.ends_at = now + timedelta(hours=3)
        activity.cancelled_at = None
        session.commit()
        return activity.id


def signed_in_people(engine, settings, session_id, count, now) -> list:
    """Auth cookie tokens of ``count`` distinct registrants with no attendance at the
    session yet, each given a live session (second factor done)."""
    with Session(engine) as session:
        accounts = session.scalars(
            select(Account).where(
                Account.kind == "registrant", Account.disabled_at.is_(None),
                ~select(Attendance.id).where(Attendance.session_id == session_id,
                                             Attendance.account_id == Account.id).exists())
            .order_by(Account.id).limit(count)).all()
        service = SessionService(session, clock=lambda: now, settings=settings)
        tokens = [service.start(account, "127.0.0.1", second_factor_done=True)[0]
                  for account in accounts]
        session.commit()
    return tokens


def checkin_post(port, path, auth_token):
    """The POST one person sends after opening the check-in page, as ``(path, cookie,
    body)``: their cookies (auth and the session holding the CSRF token) and the page's
    CSRF token."""
    cookies = f"{AUTH_COOKIE}={auth_token}"
    response, body = http_load.get_page(port, path, {"Cookie": cookies})
    if response.status != 200:
        raise RuntimeError(f"check-in page answered {response.status}")
    jar = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or ():
        jar.load(header)
    cookies += "".join(f"; {name}={morsel.value}" for name, morsel in jar.items())
    csrf = CSRF.search(body.decode("utf-8")).group(1)
    return path, cookies, urlencode({"csrf_token": csrf})


@dataclass
class CheckinFigures:
    rate: float
    prepared: int
    answered: int
    accepted: int
    rows: int
    distinct: int
    statuses: dict

    @property
    def consistent(self) -> bool:
        """Every POST answered once, every answer a recorded check-in, one per person."""
        return (self.prepared == self.answered == self.accepted == self.rows
                == self.distinct > 0)


def checkin_rate(engine, ini, settings, *, people: int) -> CheckinFigures:
    """Check-ins/s: every person's page is opened first (not counted, from Python), then
    wrk sends each prepared POST exactly once on 16 keep-alive connections; afterwards
    the rows recorded in the run must equal the accepted (200) answers, one per person."""
    now = system_clock()
    session_id = open_session_now(engine, now)
    tokens = signed_in_people(engine, settings, session_id, people, now)
    with Session(engine) as session:
        code = CheckinTokens(settings).token_for(session.get(ActivitySession, session_id))
    path = f"/checkin/{code}"
    with http_load.served("app", str(ini)) as (port, _pid):
        with ThreadPoolExecutor(http_load.CONNECTIONS) as pool:
            requests = list(pool.map(lambda token: checkin_post(port, path, token), tokens))
        got = http_load.send_once(port, requests, idle_path=IDLE_PATH, deadline=DEADLINE)
    with engine.connect() as connection:
        rows, distinct = connection.execute(
            select(func.count(), func.count(Attendance.account_id.distinct()))
            .where(Attendance.session_id == session_id, Attendance.recorded_at >= now)
        ).one()
    return CheckinFigures(rate=got.rate, prepared=len(requests), answered=got.requests,
                          accepted=got.statuses.get(200, 0), rows=rows, distinct=distinct,
                          statuses=dict(got.statuses))


def pgbench_tps(admin_url: str, database: str, *, scale: int, seconds: int) -> float:
    """TPC-B tps of ``pgbench -c 16`` on a scratch database of the same server, dropped
    afterwards."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    url = make_url(admin_url)
    where = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
             "-U", url.username or "postgres"]
    try:
        subprocess.run(["pgbench", "-i", "-q", "-s", str(scale), *where, database],
                       check=True, capture_output=True)
        out = subprocess.run(
            ["pgbench", "-c", str(http_load.CONNECTIONS), "-j", "2", "-T", str(seconds),
             *where, database], check=True, capture_output=True, text=True).stdout
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
    return float(re.search(r"tps = ([0-9.]+)", out).group(1))
