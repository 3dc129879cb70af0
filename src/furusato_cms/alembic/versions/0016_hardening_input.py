"""hardening: images are addressed by an unguessable key, not their sequential id

``/s/{code}/images/{id}`` let anyone walk the ids and see images uploaded for drafts
(issue 13, item 13). Each image gets a random ``public_key`` (128 bits, URL-safe) and is
served only under it; the Markdown that already points at ``/s/{code}/images/{id}`` (texts
and their saved versions) is rewritten to the key, so published content keeps its images.

Revision ID: 0016_hardening_input
Revises: 0015_premium_auto_default
Create Date: 2026-12-04 21:40:00
"""
import re
import secrets

import sqlalchemy as sa
from alembic import op


revision = '0016_hardening_input'
down_revision = '0015_premium_auto_default'
branch_labels = None
depends_on = None

MARKDOWN_COLUMNS = (("content_items", "body"), ("content_versions", "body"),
                    ("projects", "conditions"))
"""Where editors paste image references (the posts', pages', projects' and support
measures' texts, and the saved versions that can be restored)."""


def _image_addresses():
    """(site code, id, key) of every image."""
    return op.get_bind().execute(sa.text(
        "SELECT sites.code, images.id, images.public_key FROM images "
        "JOIN sites ON sites.id = images.site_id")).all()


def _rewrite_references(old_to_new):
    """Replace ``/s/{code}/images/{old}`` by ``…/{new}`` in every Markdown column; one
    read and one batched update per column."""
    if not old_to_new:
        return
    pattern = re.compile(r"/s/(\d{6})/images/([A-Za-z0-9_-]+?)(?=[.)\]>\s\"'?#]|$)")

    def replace(match):
        new = old_to_new.get((match.group(1), match.group(2)))
        return match.group(0) if new is None else f"/s/{match.group(1)}/images/{new}"

    bind = op.get_bind()
    for table, column in MARKDOWN_COLUMNS:
        rows = bind.execute(sa.text(
            f"SELECT id, {column} FROM {table} WHERE {column} LIKE '%/images/%'")).all()
        changed = [{"id": row_id, "text": pattern.sub(replace, text)}
                   for row_id, text in rows if pattern.sub(replace, text) != text]
        if changed:
            bind.execute(sa.text(f"UPDATE {table} SET {column} = :text WHERE id = :id"),
                         changed)


def upgrade():
    op.add_column('images', sa.Column('public_key', sa.String(length=32), nullable=True))
    bind = op.get_bind()
    ids = bind.execute(sa.text("SELECT id FROM images")).scalars().all()
    if ids:
        bind.execute(sa.text("UPDATE images SET public_key = :key WHERE id = :id"),
                     [{"id": image_id, "key": secrets.token_urlsafe(16)} for image_id in ids])
    with op.batch_alter_table('images') as batch_op:
        batch_op.alter_column('public_key', existing_type=sa.String(length=32),
                              nullable=False)
        batch_op.create_unique_constraint('uq_images_public_key', ['public_key'])
    _rewrite_references({(code, str(image_id)): key
                         for code, image_id, key in _image_addresses()})


def downgrade():
    _rewrite_references({(code, key): str(image_id)
                         for code, image_id, key in _image_addresses()})
    with op.batch_alter_table('images') as batch_op:
        batch_op.drop_constraint('uq_images_public_key', type_='unique')
        batch_op.drop_column('public_key')
