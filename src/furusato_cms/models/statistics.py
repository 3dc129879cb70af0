"""Statistics snapshots (関係人口の集計): figures computed set-based by a scheduled job.

A snapshot is written in one transaction by ``furusato-refresh-stats`` and becomes
visible all at once when that transaction commits; readers always take the newest one.
The figures themselves are defined in ``services.stats_figures``; these tables only hold
their values, keyed by site (``site_id`` 0 is the nation) and by the figure's own key.
"""
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base


class StatsSnapshot(Base):
    __tablename__ = "stats_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[datetime]
    """The moment the figures describe (stock figures such as ages are taken at it)."""
    finished_at: Mapped[datetime]
    duration_ms: Mapped[int] = mapped_column(default=0)
    row_count: Mapped[int] = mapped_column(default=0)
    method: Mapped[str] = mapped_column(String(10), default="", server_default="")
    """How it was counted: ``full`` (every figure from scratch), ``changes`` (the sites and
    people that changed since the snapshot before), "" (before counting by changes
    existed: the next refresh is a full one)."""


class StatsFigure(Base):
    """One value of one figure for one site (0: the whole nation) in one snapshot.

    The primary key serves a site's dashboard (snapshot, site); the second index
    serves the national table of all sites (snapshot, figure)."""

    __tablename__ = "stats_figures"
    __table_args__ = (Index("ix_stats_figures_figure", "snapshot_id", "figure", "site_id"),)

    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("stats_snapshots.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    """The site's id, or 0 for the nation; no foreign key, so a snapshot stays readable."""
    figure: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class StatsChange(Base):
    """What changed since the last refresh (集計の変更記録), written by database triggers
    on every table a figure reads, in the writer's own transaction — so no writer (a
    service, an import, a bulk job, SQL by hand) can forget it. ``source`` names the
    table; ``site_id`` and ``account_id`` together name a registration whose keys must
    be taken again, ``account_id`` alone a person (every registration of theirs),
    ``site_id`` alone a site whose rows of that table must be counted again — unless
    ``row_id`` names the one row inserted, which the refresh adds by itself. A refresh
    claims the rows it can see (``batch``) and deletes them when it commits."""

    __tablename__ = "stats_changes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    site_id: Mapped[int | None]
    account_id: Mapped[int | None]
    source: Mapped[str | None] = mapped_column(String(24))
    row_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    batch: Mapped[int | None] = mapped_column(index=True)


class StatsKey(Base):
    """A figure and key (``tier``/``premium``) by a small number, so each registration's
    stored keys stay a short list of numbers."""

    __tablename__ = "stats_keys"
    __table_args__ = (UniqueConstraint("figure", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    figure: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(80))


class StatsRegistrationKey(Base):
    """What one registration adds to its site's figures as of the last refresh
    (``keys``: a JSON list of ``stats_keys`` ids, one per counted item — a registration
    with two events in a month holds that month's key twice). The refresh subtracts these
    and adds the registration's new keys for the registrations that changed, so a day of
    changes costs what changed, not the country's size."""

    __tablename__ = "stats_registration_keys"

    registration_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    account_id: Mapped[int] = mapped_column(index=True)
    site_id: Mapped[int]
    keys: Mapped[list] = mapped_column(JSON)


class StatsKeyRow(Base):
    """Scratch rows of one refresh by changes: each key a changed registration holds
    now, counted once, so the figure SQL runs once for the new counts, the new key
    numbers and the stored keys. Written and emptied in the refresh's transaction (one
    refresh runs at a time), so no one else ever sees a row."""

    __tablename__ = "stats_key_rows"

    registration_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    figure: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    item: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                      primary_key=True, autoincrement=False)
    account_id: Mapped[int]
    site_id: Mapped[int]
