"""Migration 0012 maps the old relationship types onto the guideline's 類型①–④, on a
database that holds answers given before it (upgraded from 0011), and maps back."""
import json
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, MetaData, Table, select

from furusato_cms.models.meta import metadata

from ..dbsetup import migrate_to, scratch_database

T0 = datetime(2026, 6, 1, 3, 0, tzinfo=timezone.utc)


@pytest.fixture
def old_database(tmp_path):
    with scratch_database("furusato_migration_0012", tmp_path) as engine:
        yield engine


def _insert(connection, table_name, **values) -> int:
    """A row with ``values``; other required columns get a plain value of their type."""
    table = Table(table_name, MetaData(), autoload_with=connection)
    row = dict(values)
    for column in table.columns:
        if column.name in row or column.nullable or column.primary_key:
            continue
        if column.server_default is not None:
            continue
        row[column.name] = _model_default(table_name, column.name, _plain(column))
    result = connection.execute(table.insert().values(**row))
    return result.inserted_primary_key[0] if result.inserted_primary_key else None


def _model_default(table_name, column_name, otherwise):
    """The models' own default where it is a plain value (so CHECKs hold)."""
    model = metadata.tables[table_name].c.get(column_name)
    default = model.default if model is not None else None
    if default is not None and default.is_scalar:
        return default.arg
    return otherwise


def _plain(column):
    kind = column.type
    if isinstance(kind, JSON):
        return []
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, DateTime):
        return T0
    if isinstance(kind, Date):
        return date(2026, 4, 1)
    if isinstance(kind, Integer):
        return 0
    return "x"


def _rows(connection, name, *columns, order="id"):
    table = Table(name, MetaData(), autoload_with=connection)
    return connection.execute(
        select(*(table.c[c] for c in columns)).order_by(table.c[order])
    ).all()


def _listed(value):
    return json.loads(value) if isinstance(value, str) else value


def _old_data(connection):
    site = _insert(connection, "sites", code="202011", name="長野市", kind="municipality",
                   prefecture_code="20", state="active")
    people = [_insert(connection, "accounts", email=f"p{i}@example.jp", kind="registrant",
                      display_name=f"p{i}", created_at=T0) for i in range(6)]
    sites = [site] + [_insert(connection, "sites", code=code, name=code, kind="municipality",
                              prefecture_code="20", state="active")
                      for code in ("202029", "202037")]
    answers = [  # (person, site, old type, connections, state)
        (0, 0, 1, ["volunteering"], "active"),
        (1, 0, 2, ["dual_residence"], "active"),
        (2, 0, 3, ["furusato_nozei"], "active"),
        (3, 0, 4, ["tourism"], "active"),
        (4, 0, 4, ["family", "tourism"], "active"),
        (5, 0, 4, [], "left"),
        (3, 1, 1, ["side_job"], "active"),
    ]
    for person, site_index, old, connections, state in answers:
        _insert(connection, "registrations", account_id=people[person],
                site_id=sites[site_index], relationship_type=old, connections=connections,
                state=state, tier="basic", at_home=False, registered_at=T0,
                state_changed_at=T0)
    posts = [_insert(connection, "content_items", site_id=site, type="post", slug=f"p{i}",
                     title="t", created_at=T0, updated_at=T0) for i in range(4)]
    for post, types in zip(posts, ([1, 3], [4], [2, 4], [])):
        _insert(connection, "post_targets", post_id=post, tiers=[], relationship_types=types,
                interests=[], updated_at=T0)
    for old, state in ((1, "draft"), (4, "open"), (4, "draft"), (None, "open")):
        _insert(connection, "monitor_surveys", site_id=site, title="s", state=state,
                target_relationship_type=old, created_at=T0)
    snapshot = _insert(connection, "stats_snapshots", as_of=T0, finished_at=T0)
    for figure, key in (("relationship_type", "1"), ("relationship_type", "4"), ("people", "")):
        _insert(connection, "stats_figures", snapshot_id=snapshot, site_id=site, figure=figure,
                key=key, value=5)
    return people, posts


def test_upgrade_maps_old_answers_and_downgrade_maps_back(old_database):
    migrate_to(old_database, "upgrade", "0011_identity_match_index")
    with old_database.begin() as connection:
        people, posts = _old_data(connection)

    migrate_to(old_database, "upgrade", "0012_relationship_types")

    with old_database.connect() as connection:
        registrations = _rows(connection, "registrations", "account_id", "relationship_types",
                              "connections")
        assert [(a, _listed(t), _listed(c)) for a, t, c in registrations] == [
            (people[0], [3], ["volunteering"]),        # contributor -> ③
            (people[1], [4], ["dual_residence"]),      # dual residence -> ④
            (people[2], [1], ["furusato_nozei"]),      # from afar -> ①
            (people[3], [], ["birthplace", "tourism"]),  # roots -> unanswered + birthplace
            (people[4], [], ["family", "tourism"]),    # a roots connection already there
            (people[5], [], ["birthplace"]),
            (people[3], [3], ["side_job"]),
        ]
        asked = dict(_rows(connection, "accounts", "id", "ask_relationship_types"))
        assert [bool(asked[p]) for p in people] == [False, False, False, True, True, False]
        targets = {post: _listed(types) for post, types in
                   _rows(connection, "post_targets", "post_id", "relationship_types",
                         order="post_id")}
        assert targets == {posts[0]: [1, 3], posts[2]: [4], posts[3]: []}
        surveys = _rows(connection, "monitor_surveys", "target_relationship_type", "state")
        assert [tuple(s) for s in surveys] == [(3, "draft"), (None, "closed"), (None, "draft"),
                                              (None, "open")]
        figures = _rows(connection, "stats_figures", "figure", "key", order="figure")
        assert [tuple(f) for f in figures] == [("people", "")]

    migrate_to(old_database, "downgrade", "0011_identity_match_index")

    with old_database.connect() as connection:
        back = _rows(connection, "registrations", "relationship_type")
        assert [t for (t,) in back] == [1, 2, 3, 4, 4, 4, 1]
        targets = {post: _listed(types) for post, types in
                   _rows(connection, "post_targets", "post_id", "relationship_types",
                         order="post_id")}
        assert targets == {posts[0]: [1, 3], posts[2]: [2], posts[3]: []}
