"""Figures measured over HTTP against waitress subprocesses:

- ``page_ratio``: req/s of a site's public page (intro and latest posts) ÷ req/s of a
  bare Pyramid + Jinja2 page, loaded alternately in the same run, with the site page's
  p99 latency, and ``rss``: the app process's resident memory after that load.
"""
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from furusato_cms.clock import system_clock
from furusato_cms.models import IntroPage, Post, Site

import http_load

POSTS = 12
WARM_SECONDS = 1.0


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
    ratio: float
    p99: float
    site_rate: float
    bare_rate: float
    rss: float


def page_ratio(engine, ini, *, rounds: int, seconds: float) -> PageFigures:
    """Both servers up at once; each round loads the bare page then the site page for
    ``seconds`` each (after one warm-up of each), so drift in the machine's load hits
    both alike. Any non-200 answer is an error."""
    path = f"/s/{site_with_posts(engine, system_clock())}/"
    with http_load.served("app", str(ini)) as (app_port, app_pid), \
            http_load.served("bare") as (bare_port, _bare_pid):
        site_request = lambda: ("GET", path, None, {})  # noqa: E731 - a constant request
        bare_request = lambda: ("GET", "/", None, {})  # noqa: E731
        http_load.load(bare_port, bare_request, seconds=WARM_SECONDS)
        http_load.load(app_port, site_request, seconds=WARM_SECONDS)
        bare, site = http_load.Load(), http_load.Load()
        for _round in range(rounds):
            for port, request, total in ((bare_port, bare_request, bare),
                                         (app_port, site_request, site)):
                got = http_load.load(port, request, seconds=seconds)
                if set(got.statuses) != {200}:
                    raise RuntimeError(f"page answers {got.statuses} on {path}")
                total.seconds += got.seconds
                total.latencies.extend(got.latencies)
        memory = rss_mb(app_pid)
    return PageFigures(ratio=site.rate / bare.rate, p99=percentile(site.latencies, 0.99),
                       site_rate=site.rate, bare_rate=bare.rate, rss=memory)


def percentile(samples, fraction) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
