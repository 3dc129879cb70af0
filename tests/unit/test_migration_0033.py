"""Revision 0033: ``content_items.body_html`` added and filled with the rendered body of
every row already there; dropped in place on the way down."""
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from ..dbsetup import migrate_to, scratch_database
from ..factories import NAGANO_CITY, make_post, make_site

BEFORE, AFTER = "0032_partitioned_tables", "0033_content_body_html"


def _columns(engine):
    return {c["name"] for c in inspect(engine).get_columns("content_items")}


def test_rendered_bodies_are_filled_in_and_the_column_comes_and_goes(tmp_path):
    with scratch_database("furusato_migration_0033", tmp_path) as engine:
        migrate_to(engine, "upgrade", AFTER)
        with Session(engine) as db:
            site = make_site(db, NAGANO_CITY)
            make_post(db, site, "news", body="# 見出し\n\n<b>生のHTML</b>")
            make_post(db, site, "empty", body="")
            db.commit()
        migrate_to(engine, "downgrade", BEFORE)
        assert "body_html" not in _columns(engine)
        migrate_to(engine, "upgrade", AFTER)
        with engine.connect() as connection:
            kept = dict(connection.execute(text(
                "SELECT slug, body_html FROM content_items ORDER BY slug")).all())
        assert kept == {
            "empty": "",
            "intro": "<p>ようこそ</p>\n",
            "news": "<h1>見出し</h1>\n<p>&lt;b&gt;生のHTML&lt;/b&gt;</p>\n",
        }
