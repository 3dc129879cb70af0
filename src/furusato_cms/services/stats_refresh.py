"""Refreshing the statistics snapshot (集計の更新) by what changed, not by the country's size.

Database triggers append to ``stats_changes`` the site (and the person) of every row any
figure reads, in the writer's own transaction (migration ``0028_stats_changes``). A
refresh claims the change rows it can see and writes a new snapshot from the one before:

- **sites** with a change are counted again with the same figure SQL as ever, narrowed to
  those sites; every other site's rows are copied. A site's figures are at most a few
  hundred rows, so the copy grows with the number of sites (1,788), not of people.
- **the nation's sums** over sites are summed again from the new site rows.
- **the nation's real people** (``nation_*``, distinct persons across sites) are corrected
  by difference: ``stats_person_keys`` holds what each person added at the last refresh;
  the people who changed have their old keys subtracted and their new keys added.
- **time** changes figures without any row changing: a day later some people are in an
  older age band, and attendance leaves the 365-day window. The refresh adds those people
  and sites to its batch itself (birthdates and attendance times in the passed interval).

``full`` counts everything from scratch and rebuilds the people's keys: the first refresh,
the repair tool (``furusato-refresh-stats --full``), and what the tests compare the
incremental figures with, to the unit, after random operations.
"""
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, delete, distinct, exists, func, insert, literal, or_, select, union, update

from ..clock import to_tokyo
from ..models import Attendance, IdentityVerification, Registration, Site
from ..models.statistics import StatsChange, StatsFigure, StatsPersonKey, StatsSnapshot
from .statistics import (
    AGE_BANDS,
    NATION,
    NATION_FIGURES,
    NATION_SUMS,
    SITE_FIGURES,
    Scope,
    aggregate,
    years_before,
)

FULL = "full"
CHANGES = "changes"
COLUMNS = ["snapshot_id", "site_id", "figure", "key", "value"]
NATION_FIGURE_NAMES = tuple(figure.name for figure in NATION_FIGURES)
F, K, C = StatsFigure, StatsPersonKey, StatsChange


@dataclass
class Counted:
    method: str
    sites: int | None
    """Sites counted again (None: all)."""
    people: int | None
    """People whose national keys were counted again (None: all)."""


class StatsRefresh:
    """One refresh into ``snapshot`` (already flushed), from ``previous`` when it can."""

    def __init__(self, dbsession, *, dialect: str):
        self.dbsession = dbsession
        self.dialect = dialect

    def run(self, snapshot: StatsSnapshot, previous: StatsSnapshot | None, *,
            full: bool = False) -> Counted:
        self._claim(snapshot.id)
        if full or not self._can_follow(previous, snapshot):
            counted = self._full(snapshot)
        else:
            counted = self._changes(snapshot, previous)
        self.dbsession.execute(delete(C).where(C.batch == snapshot.id))
        snapshot.method = counted.method
        return counted

    @staticmethod
    def _can_follow(previous, snapshot) -> bool:
        return (previous is not None and previous.method in (FULL, CHANGES)
                and previous.as_of <= snapshot.as_of)

    def _claim(self, batch: int):
        """The change rows this transaction sees become this refresh's; rows committed
        later stay for the next one."""
        self.dbsession.execute(update(C).where(C.batch.is_(None)).values(batch=batch))

    # -- from scratch ---------------------------------------------------------------

    def _full(self, snapshot) -> Counted:
        scope = Scope(self.dialect, snapshot.as_of)
        self._count_sites(snapshot, scope)
        self._sum_nation(snapshot)
        self.dbsession.execute(delete(K))
        self._store_person_keys(scope)
        self._insert_nation(snapshot, self._key_counts())
        return Counted(FULL, None, None)

    # -- from the snapshot before ---------------------------------------------------

    def _changes(self, snapshot, previous) -> Counted:
        self._add_changes_by_time(snapshot.id, previous.as_of, snapshot.as_of)
        sites = self._changed_sites(snapshot.id)
        people = select(C.account_id).where(C.batch == snapshot.id, C.account_id.is_not(None))
        self.dbsession.execute(insert(F).from_select(COLUMNS, select(
            literal(snapshot.id), F.site_id, F.figure, F.key, F.value,
        ).where(F.snapshot_id == previous.id, F.site_id != NATION, F.site_id.not_in(sites))))
        if sites:
            self._count_sites(snapshot, Scope(self.dialect, snapshot.as_of, tuple(sites)))
        self._sum_nation(snapshot)
        before = self._key_counts(people)
        self.dbsession.execute(delete(K).where(K.account_id.in_(people)))
        self._store_person_keys(Scope(self.dialect, snapshot.as_of, accounts=people))
        after = self._key_counts(people)
        nation = self._nation_values(previous)
        for key in set(before) | set(after):
            nation[key] = nation.get(key, 0) - before.get(key, 0) + after.get(key, 0)
        self._insert_nation(snapshot, nation)
        changed = people.subquery()
        changed_people = self.dbsession.scalar(select(func.count(distinct(changed.c.account_id))))
        return Counted(CHANGES, len(sites), changed_people)

    def _add_changes_by_time(self, batch: int, since, now):
        """Changes the clock makes: sites whose 365-day attendance window gained or lost a
        row, and, on a new Tokyo date, people who reached an age band's lower bound."""
        year = timedelta(days=365)
        A = Attendance
        moved = exists().where(
            A.site_id == Site.id, A.voided_at.is_(None),
            or_(and_(A.attended_at > since - year, A.attended_at <= now - year),
                and_(A.attended_at > since, A.attended_at <= now)))
        self.dbsession.execute(insert(C).from_select(
            ["site_id", "batch"], select(Site.id, literal(batch)).where(moved)))
        before, today = to_tokyo(since).date(), to_tokyo(now).date()
        if before == today:
            return
        V = IdentityVerification
        birthdays = or_(*[and_(V.birthdate > years_before(before, low),
                               V.birthdate <= years_before(today, low))
                          for low, _band in AGE_BANDS[:-1]])
        self.dbsession.execute(insert(C).from_select(
            ["account_id", "batch"], select(V.account_id, literal(batch)).where(birthdays)))

    def _changed_sites(self, batch: int) -> list:
        """Sites named by a change, and every site of a person changed as a whole (their
        identity data, or their account deleted)."""
        named = select(C.site_id).where(C.batch == batch, C.site_id.is_not(None))
        of_people = select(Registration.site_id).where(Registration.account_id.in_(
            select(C.account_id).where(C.batch == batch, C.site_id.is_(None),
                                       C.account_id.is_not(None))))
        return sorted(self.dbsession.scalars(union(named, of_people)))

    # -- the parts ------------------------------------------------------------------

    def _count_sites(self, snapshot, scope):
        for figure in SITE_FIGURES:
            counted = aggregate(figure, scope).subquery()
            self.dbsession.execute(insert(F).from_select(COLUMNS, select(
                literal(snapshot.id), counted.c.site_id, literal(figure.name), counted.c.key,
                counted.c.value,
            )))

    def _sum_nation(self, snapshot):
        self.dbsession.execute(insert(F).from_select(COLUMNS, select(
            literal(snapshot.id), literal(NATION), F.figure, F.key, func.sum(F.value),
        ).where(F.snapshot_id == snapshot.id, F.site_id != NATION,
                F.figure.in_(NATION_SUMS)).group_by(F.figure, F.key)))

    def _store_person_keys(self, scope):
        for figure in NATION_FIGURES:
            rows = figure.rows(scope).subquery()
            self.dbsession.execute(insert(K).from_select(
                ["account_id", "figure", "key"],
                select(rows.c.item, literal(figure.name), rows.c.key)
                .where(rows.c.key.is_not(None)).distinct(),
            ))

    def _key_counts(self, people=None) -> dict:
        """(figure, key) -> how many of ``people`` (a SELECT of account ids; None:
        everybody) hold it."""
        statement = select(K.figure, K.key, func.count()).group_by(K.figure, K.key)
        if people is not None:
            statement = statement.where(K.account_id.in_(people))
        return {(figure, key): value for figure, key, value in self.dbsession.execute(statement)}

    def _nation_values(self, snapshot) -> dict:
        statement = select(F.figure, F.key, F.value).where(
            F.snapshot_id == snapshot.id, F.site_id == NATION,
            F.figure.in_(NATION_FIGURE_NAMES))
        return {(figure, key): value for figure, key, value in self.dbsession.execute(statement)}

    def _insert_nation(self, snapshot, values: dict):
        """The nation's real-people rows; a key nobody holds any more has no row, as in a
        count from scratch."""
        rows = [{"snapshot_id": snapshot.id, "site_id": NATION, "figure": figure, "key": key,
                 "value": value} for (figure, key), value in sorted(values.items()) if value]
        if rows:
            self.dbsession.execute(insert(F), rows)
