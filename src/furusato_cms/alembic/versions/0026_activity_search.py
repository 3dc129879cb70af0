"""activities across the country (/activities/, GET /api/v1/activities): online sessions and
the search's index

``activity_sessions.online`` marks a session taken part in over the internet (an added
column with a server default: no table is rebuilt). The search lists the sessions still to
come of every public project in date order, so it walks one partial index of the sessions
that are not cancelled, by start (``ix_activity_sessions_open_starts``), and stops after a
page; prefecture, site state and the project's visibility are checked on rows reached by
primary key, and the theme tag through ``content_tags``' index.

Keyword search stays a plain ``LIKE`` on the title and summary, on both databases, over
those upcoming rows: Japanese has no spaces between words, so a ``simple`` tsvector finds
only whole phrases, and pg_trgm in a C-collated database ignores CJK characters (its
trigrams come from alphanumerics only), so a trigram index would not narrow a Japanese
search. The bench figure ``activity_search_p99`` measures this at the generated size.

Revision ID: 0026_activity_search
Revises: 0025_needs
Create Date: 2026-12-05 00:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0026_activity_search'
down_revision = '0025_needs'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('activity_sessions', sa.Column('online', sa.Boolean(), nullable=False,
                                                 server_default=sa.false()))
    op.create_index('ix_activity_sessions_open_starts', 'activity_sessions',
                    ['starts_at', 'id'],
                    sqlite_where=sa.text('cancelled_at IS NULL'),
                    postgresql_where=sa.text('cancelled_at IS NULL'))


def downgrade():
    op.drop_index('ix_activity_sessions_open_starts', table_name='activity_sessions')
    # Dropped in place: a batch rebuild fails while attendance rows point at the sessions.
    op.execute("ALTER TABLE activity_sessions DROP COLUMN online")
