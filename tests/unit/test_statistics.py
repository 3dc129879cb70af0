"""Statistics (関係人口の可視化): every figure against a brute-force count over generated
data, live and from a snapshot, on SQLite and PostgreSQL; what must never be counted;
the "<10" suppression; periods and sorting."""
import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from furusato_cms.models import (
    IdentityVerification,
    get_engine,
    Registration,
    StatsFigure,
    StatsSnapshot,
)
from furusato_cms.services.errors import InvalidInput
from furusato_cms.services.stats_figures import FIGURES, NATION, NATION_FIGURES
from furusato_cms.services.statistics import (
    Period,
    StatisticsService,
    Suppressed,
    parse_period,
    shown,
)
from furusato_cms.services.statistics_tables import (
    age_gender_table,
    home_prefectures_table,
    national_tables,
    parse_sort,
    site_tables,
)


from ..conftest import NOW
from ..dbsetup import migrate
from ..factories import make_site
from ..registrant_factories import make_registrant
from ..stats_factories import CITY, brute_force, populate


@pytest.fixture
def service(dbsession, clock, app_settings):
    return StatisticsService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def population(dbsession):
    return populate(dbsession)


def flat(values, figures) -> dict:
    names = {f.name for f in figures}
    return {
        (site_id, figure, key): value
        for site_id, site in values.sites.items()
        for figure, keyed in site.values.items() if figure in names
        for key, value in keyed.items() if value
    }


def expected(truth, figures, site_ids=None) -> dict:
    """The brute-force values of ``figures`` counted directly (the nation's sums over
    sites are made only by a refresh)."""
    names = {f.name for f in figures}
    nation_only = {f.name for f in NATION_FIGURES}
    return {k: v for k, v in truth.items()
            if k[1] in names and (k[0] != NATION or k[1] in nation_only)
            and (site_ids is None or k[0] in site_ids)}


def test_every_figure_has_a_docstring_saying_what_it_counts():
    for figure in FIGURES.values():
        assert figure.doc and len(figure.doc.split()) >= 8, figure.name


def test_live_figures_equal_brute_force(service, dbsession, population):
    truth = brute_force(dbsession, NOW)
    live = service.live_values(None, nation=True)
    assert flat(live, FIGURES.values()) == expected(truth, FIGURES.values())
    assert {k[1] for k in truth} >= set(FIGURES), "the generated data covers every figure"


def test_live_figures_of_one_site_equal_brute_force(service, dbsession, population):
    city = population.sites[1]
    truth = brute_force(dbsession, NOW)
    site_figures = [f for f in FIGURES.values() if not f.nation_only]
    live = service.live_values([city.id])
    assert flat(live, site_figures) == expected(truth, site_figures, {city.id})


def test_snapshot_equals_brute_force_right_after_a_refresh(service, dbsession, population):
    summary = service.refresh()
    truth = brute_force(dbsession, NOW)
    stored = {
        (site_id, figure, key): value
        for site_id, figure, key, value in dbsession.execute(
            select(StatsFigure.site_id, StatsFigure.figure, StatsFigure.key, StatsFigure.value)
            .where(StatsFigure.snapshot_id == summary["snapshot"])
        )
    }
    assert stored == truth
    assert summary["rows"] == len(truth)


def test_nation_real_people_against_registrations(service, dbsession, population):
    service.refresh()
    nation = service.snapshot_values(service.latest_snapshot(), [NATION]).of(NATION)
    counted = dbsession.execute(
        select(Registration.account_id, Registration.site_id).join(Registration.account).where(
            Registration.state == "active", Registration.at_home.is_(False),
        )
    ).all()
    real = {account for account, _site in counted}
    assert nation.value("nation_people") == len(real)
    assert nation.value("people") == len(counted) > len(real)


def test_period_filters_flow_figures(service, dbsession, population):
    period = Period("2026-06", "2026-09")
    city = population.sites[1]
    truth = brute_force(dbsession, NOW)
    live = service.live_values([city.id], period).of(city.id)
    for figure in [f.name for f in FIGURES.values() if f.flow]:
        wanted = {k[2]: v for k, v in truth.items()
                  if k[0] == city.id and k[1] == figure and period.holds(k[2])}
        assert live.keyed(figure) == wanted, figure


# -- what never counts -------------------------------------------------------------------


def _registration(dbsession, account, site, **kw):
    values = dict(account_id=account.id, site_id=site.id, relationship_types=[2],
                  connections=["tourism"], registered_at=NOW, state_changed_at=NOW)
    values.update(kw)
    registration = Registration(**values)
    dbsession.add(registration)
    dbsession.flush()
    return registration


def test_a_registration_counts_under_each_type_it_chose(service, dbsession):
    """The survey asks which types apply: [1, 3] counts under ① and ③; none is
    "unanswered"; the keys stay "1".."4"."""
    city = make_site(dbsession, CITY)
    people = [make_registrant(dbsession, f"t{i}@example.jp") for i in range(3)]
    for person, types in zip(people, ([1, 3], [3], [])):
        _registration(dbsession, person, city, relationship_types=types)
    figures = service.live_values([city.id]).of(city.id)
    assert figures.keyed("relationship_type") == {"1": 1, "3": 2, "unanswered": 1}
    assert figures.value("people") == 3


def test_at_home_released_left_and_deleted_never_count(service, dbsession):
    city = make_site(dbsession, CITY)
    people = [make_registrant(dbsession, f"n{i}@example.jp") for i in range(5)]
    _registration(dbsession, people[0], city)
    _registration(dbsession, people[1], city, at_home=True)
    _registration(dbsession, people[2], city, state="released")
    _registration(dbsession, people[3], city, state="left")
    _registration(dbsession, people[4], city)
    people[4].disabled_at = NOW
    dbsession.flush()
    figures = service.live_values([city.id]).of(city.id)
    assert figures.value("people") == 1
    assert figures.value("at_home") == 1
    assert figures.keyed("relationship_type") == {"2": 1}
    assert figures.keyed("connection") == {"tourism": 1}
    service.refresh()
    nation = service.snapshot_values(service.latest_snapshot(), [NATION]).of(NATION)
    assert nation.value("nation_people") == 1 and nation.value("people") == 1


# -- suppression ------------------------------------------------------------------------


def test_groups_under_ten_are_shown_as_less_than_ten(service, dbsession):
    city = make_site(dbsession, CITY)
    for number in range(13):
        account = make_registrant(dbsession, f"v{number}@example.jp")
        _registration(dbsession, account, city)
        home = "131016" if number < 10 else "271004"
        dbsession.add(IdentityVerification(
            account_id=account.id, issuer="i", subject=f"s{number}", name="x", address="",
            home_code=home, birthdate=date(1990, 1, 1), gender="female" if number < 11 else "male",
            verified_at=NOW))
    dbsession.flush()
    figures = service.live_values([city.id]).of(city.id)
    prefectures = {row[0]: row[2] for row in home_prefectures_table(
        figures, "home_prefecture", "people").rows}
    assert prefectures == {"13": 10, "27": Suppressed()}
    assert str(prefectures["27"]) == "<10"
    ages = {str(row[0]): row[1:] for row in age_gender_table(figures, "age_gender").rows}
    assert ages["30s"] == [11, "<10", 0]
    assert shown(5, "people") == 5 and shown(0, "age_gender") == 0


# -- snapshots ---------------------------------------------------------------------------


def test_refresh_keeps_the_newest_two_snapshots(service, dbsession, clock, population):
    ids = []
    for _ in range(3):
        ids.append(service.refresh()["snapshot"])
        clock.advance(timedelta(minutes=10))
    assert list(dbsession.scalars(select(StatsSnapshot.id).order_by(StatsSnapshot.id))) == ids[1:]
    assert dbsession.scalar(select(func.count()).select_from(StatsFigure).where(
        StatsFigure.snapshot_id == ids[0])) == 0


def test_large_sites_read_the_snapshot_small_ones_count_live(service, dbsession, population,
                                                           monkeypatch):
    city = population.sites[1]
    period = Period("2025-12", "2026-11")
    assert service.site_report(city, period).source == "live"
    service.refresh()
    monkeypatch.setattr(StatisticsService, "LIVE_LIMIT", 1)
    stale = make_registrant(dbsession, "late@example.jp")
    _registration(dbsession, stale, city)
    report = service.site_report(city, period)
    assert report.source == "snapshot" and report.as_of == NOW
    truth = brute_force(dbsession, NOW)
    assert report.figures.value("people") == truth[(city.id, "people", "")] - 1


def test_prefecture_report_has_each_municipality(service, dbsession, population):
    prefecture = population.sites[0]
    report = service.site_report(prefecture, Period("2025-12", "2026-11"))
    truth = brute_force(dbsession, NOW)
    assert [site.code for site, _f in report.municipalities] == sorted(
        s.code for s in population.sites if s.kind == "municipality"
        and s.prefecture_code == prefecture.prefecture_code)
    for site, figures in report.municipalities:
        assert figures.value("people") == truth.get((site.id, "people", ""), 0)
    assert report.figures.value("origin", "derived") == truth[(prefecture.id, "origin", "derived")]
    tables = {t.name: t for t in site_tables(report)}
    assert "municipalities" in tables and len(tables["municipalities"].rows) == 3


def test_national_tables_come_from_the_snapshot(service, dbsession, population):
    assert service.national_report(Period("2026-01", "2026-11")) is None
    service.refresh()
    report = service.national_report(Period("2026-01", "2026-11"))
    tables = {t.name: t for t in national_tables(report, "people", True)}
    truth = brute_force(dbsession, NOW)
    aims = tables["aims"].rows
    assert aims[0][1] == truth[(0, "nation_people", "")]
    assert aims[1][1] == truth[(0, "people", "")]
    people = [row[2] for row in tables["sites"].rows]
    assert people == sorted(people, reverse=True)
    states = {str(row[0]): row[-1] for row in tables["sites_by_state"].rows}
    assert sum(states.values()) == len(population.sites)


# -- parameters ----------------------------------------------------------------------------


@pytest.mark.parametrize("first, last, field", [
    ("2026-13", None, "from"), ("26-01", None, "from"), ("2019-12", None, "from"),
    ("2026-10", "2026-09", "to"), (None, "2027-01", "to"), ("2026-01", "x", "to"),
])
def test_bad_periods_are_refused(first, last, field):
    with pytest.raises(InvalidInput) as refused:
        parse_period(first, last, NOW)
    assert refused.value.field == field


def test_periods_default_to_twelve_months():
    assert parse_period(None, None, NOW) == Period("2025-12", "2026-11")
    assert parse_period("2026-03", None, NOW) == Period("2026-03", "2026-11")
    assert parse_period(None, "2026-05", NOW) == Period("2025-06", "2026-05")
    late = datetime(2026, 11, 30, 16, tzinfo=timezone.utc)
    assert parse_period(None, None, late).last == "2026-12", "months are Tokyo months"


def test_sort_parameters():
    assert parse_sort(None, None) == ("people", True)
    assert parse_sort("name", None) == ("name", False)
    with pytest.raises(InvalidInput):
        parse_sort("password", None)
    with pytest.raises(InvalidInput):
        parse_sort("people", "sideways")


# -- the console script ----------------------------------------------------------------------


def _stats_ini(tmp_path):
    url = f"sqlite:///{tmp_path}/stats.sqlite"
    migrate(url)
    engine = get_engine({"furusato.db_url": url})
    with Session(engine) as setup:
        city = make_site(setup, CITY)
        _registration(setup, make_registrant(setup, "cron@example.jp"), city)
        setup.commit()
        city_id = city.id
    ini = tmp_path / "stats.ini"
    ini.write_text("[app:main]\nuse = egg:furusato-cms\n"
                   f"furusato.db_url = {url}\nfurusato.session_secret = script-test\n",
                   encoding="utf-8")
    return engine, ini, city_id


def test_console_script_counts_a_snapshot(tmp_path):
    """furusato-refresh-stats against a migrated SQLite file, as cron would run it."""
    engine, ini, city_id = _stats_ini(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "FURUSATO_DB_URL"}
    script = str(Path(sys.executable).parent / "furusato-refresh-stats")
    runs = [subprocess.run([script, str(ini), *extra], capture_output=True, text=True,
                           env=env, timeout=60) for extra in ([], [], ["--full"])]
    assert all(run.returncode == 0 for run in runs), runs[-1].stderr
    summaries = [json.loads(run.stdout) for run in runs]
    assert [s["method"] for s in summaries] == ["full", "changes", "full"]
    assert summaries[1]["sites_counted"] == 0
    assert summaries[-1]["dropped_snapshots"] == 1 and summaries[-1]["rows"] > 0
    with engine.connect() as conn:
        people = conn.scalar(select(StatsFigure.value).where(
            StatsFigure.snapshot_id == summaries[-1]["snapshot"], StatsFigure.site_id == city_id,
            StatsFigure.figure == "people"))
        assert people == 1
    engine.dispose()


def test_refresh_keeps_running_every_few_seconds(tmp_path):
    """``--every`` (what make run starts): a refresh now, then one each interval."""
    engine, ini, _city_id = _stats_ini(tmp_path)
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if k != "FURUSATO_DB_URL"}
    runner = subprocess.Popen(
        [sys.executable, "-m", "furusato_cms.scripts.refresh_stats", str(ini), "--every", "1"],
        stdout=subprocess.PIPE, text=True, env=env)
    try:
        methods = [json.loads(runner.stdout.readline())["method"] for _ in range(2)]
    finally:
        runner.terminate()
        runner.wait(timeout=20)
    assert methods == ["full", "changes"]
