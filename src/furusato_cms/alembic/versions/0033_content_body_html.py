"""Content bodies keep their rendered HTML (issue 16): ``content_items.body_html``

The public pages rendered every introduction, post and project body from Markdown on
each request. The HTML is now kept when a body is saved (models/content.py); this
revision adds the column and renders the bodies already there, with the same renderer
(markup.render_markdown). A row left NULL is rendered by the page when shown, so the
column never has to be complete to be correct.

Revision ID: 0033_content_body_html
Revises: 0032_partitioned_tables
Create Date: 2026-12-06 00:00:00
"""
import sqlalchemy as sa
from alembic import op

from furusato_cms.markup import render_markdown

revision = '0033_content_body_html'
down_revision = '0032_partitioned_tables'
branch_labels = None
depends_on = None

BATCH = 500


def upgrade():
    op.add_column("content_items", sa.Column("body_html", sa.Text(), nullable=True))
    connection = op.get_bind()
    items = sa.table("content_items", sa.column("id", sa.Integer),
                     sa.column("body", sa.Text), sa.column("body_html", sa.Text))
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(items.c.id, items.c.body).where(items.c.id > last_id)
            .order_by(items.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            items.update().where(items.c.id == sa.bindparam("item_id"))
            .values(body_html=sa.bindparam("html")),
            [{"item_id": item_id, "html": str(render_markdown(body or ""))}
             for item_id, body in rows],
        )
        last_id = rows[-1].id


def downgrade():
    op.execute("ALTER TABLE content_items DROP COLUMN body_html")
