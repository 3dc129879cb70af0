"""designation kept on each attendance (指定の有無を出席記録ごとに保持)

Premium counts designated activities "as they were on the day": a project designated or
undesignated later must change no past count. So each attendance now stores whether its
project was designated (``attendances.designated``), written when the row is recorded.

The rows that exist already are back-filled, set-based in one UPDATE, from their
project's *current* ``designated`` flag: nothing recorded the flag's history, so the
flag as it stands at migration time is the best knowledge available. From this revision
on, every writer stores the flag of the moment it records.

Downgrade drops the column (counting then follows the project's flag again).

Revision ID: 0013_attendance_designation
Revises: 0012_relationship_types
Create Date: 2026-12-04 21:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013_attendance_designation'
down_revision = '0012_relationship_types'
branch_labels = None
depends_on = None

attendances = sa.table('attendances', sa.column('session_id'), sa.column('designated'))
sessions = sa.table('activity_sessions', sa.column('id'), sa.column('project_id'))
projects = sa.table('projects', sa.column('id'), sa.column('designated'))


def upgrade():
    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('designated', sa.Boolean(), nullable=True))
    project_flag = (
        sa.select(projects.c.designated)
        .select_from(sessions.join(projects, projects.c.id == sessions.c.project_id))
        .where(sessions.c.id == attendances.c.session_id)
        .scalar_subquery()
    )
    op.execute(attendances.update().values(designated=project_flag))
    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.alter_column('designated', existing_type=sa.Boolean(), nullable=False)


def downgrade():
    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.drop_column('designated')
