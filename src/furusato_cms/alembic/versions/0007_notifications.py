"""notifications: interests, follows, preferences, unsubscribes, inbox, post targets,
campaigns and the mail outbox

Revision ID: 0007_notifications
Revises: 0006_support
Create Date: 2026-11-25 15:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_notifications'
down_revision = '0006_support'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notification_preferences',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('email', sa.Boolean(), nullable=False),
    sa.Column('inbox', sa.Boolean(), nullable=False),
    sa.CheckConstraint("kind IN ('targeted_post', 'new_project', 'application_result', 'session_reminder', 'premium_decision', 'renewal_notice', 'consultation_reply')", name=op.f('ck_notification_preferences_kind')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_notification_preferences_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_notification_preferences_site_id_sites')),
    sa.PrimaryKeyConstraint('account_id', 'site_id', 'kind', name=op.f('pk_notification_preferences'))
    )
    with op.batch_alter_table('notification_preferences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_preferences_site_id'), ['site_id'], unique=False)

    op.create_table('notification_unsubscribes',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('targeted_post', 'new_project', 'application_result', 'session_reminder', 'premium_decision', 'renewal_notice', 'consultation_reply', 'all')", name=op.f('ck_notification_unsubscribes_kind')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_notification_unsubscribes_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_notification_unsubscribes_site_id_sites')),
    sa.PrimaryKeyConstraint('account_id', 'site_id', 'kind', name=op.f('pk_notification_unsubscribes'))
    )
    with op.batch_alter_table('notification_unsubscribes', schema=None) as batch_op:
        batch_op.create_index('ix_notification_unsubscribes_site_kind', ['site_id', 'kind'], unique=False)

    op.create_table('registrant_interests',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('interest', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_registrant_interests_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'interest', name=op.f('pk_registrant_interests'))
    )
    with op.batch_alter_table('registrant_interests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registrant_interests_interest'), ['interest'], unique=False)

    op.create_table('site_follows',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_site_follows_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_site_follows_site_id_sites')),
    sa.PrimaryKeyConstraint('account_id', 'site_id', name=op.f('pk_site_follows'))
    )
    with op.batch_alter_table('site_follows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_follows_site_id'), ['site_id'], unique=False)

    op.create_table('notification_campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=True),
    sa.Column('post_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.JSON(), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('link', sa.String(length=500), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('emails', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('targeted_post', 'new_project', 'application_result', 'session_reminder', 'premium_decision', 'renewal_notice', 'consultation_reply')", name=op.f('ck_notification_campaigns_kind')),
    sa.ForeignKeyConstraint(['created_by_id'], ['accounts.id'], name=op.f('fk_notification_campaigns_created_by_id_accounts')),
    sa.ForeignKeyConstraint(['post_id'], ['content_items.id'], name=op.f('fk_notification_campaigns_post_id_content_items'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_notification_campaigns_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_campaigns')),
    sa.UniqueConstraint('key', name=op.f('uq_notification_campaigns_key'))
    )
    with op.batch_alter_table('notification_campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_campaigns_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_campaigns_post_id'), ['post_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_campaigns_site_id'), ['site_id'], unique=False)

    op.create_table('post_targets',
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('tiers', sa.JSON(), nullable=False),
    sa.Column('relationship_types', sa.JSON(), nullable=False),
    sa.Column('interests', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['post_id'], ['content_items.id'], name=op.f('fk_post_targets_post_id_content_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['accounts.id'], name=op.f('fk_post_targets_updated_by_id_accounts')),
    sa.PrimaryKeyConstraint('post_id', name=op.f('pk_post_targets'))
    )
    with op.batch_alter_table('post_targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_post_targets_updated_by_id'), ['updated_by_id'], unique=False)

    op.create_table('inbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('targeted_post', 'new_project', 'application_result', 'session_reminder', 'premium_decision', 'renewal_notice', 'consultation_reply')", name=op.f('ck_inbox_messages_kind')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_inbox_messages_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['campaign_id'], ['notification_campaigns.id'], name=op.f('fk_inbox_messages_campaign_id_notification_campaigns'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_inbox_messages_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_messages'))
    )
    with op.batch_alter_table('inbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_inbox_messages_account_created', ['account_id', 'created_at'], unique=False)
        batch_op.create_index('ix_inbox_messages_account_unread', ['account_id', 'read_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbox_messages_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbox_messages_site_id'), ['site_id'], unique=False)

    op.create_table('mail_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claim', sa.String(length=32), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=False),
    sa.CheckConstraint("state IN ('queued', 'sending', 'sent', 'failed')", name=op.f('ck_mail_outbox_state')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_mail_outbox_account_id_accounts')),
    sa.ForeignKeyConstraint(['campaign_id'], ['notification_campaigns.id'], name=op.f('fk_mail_outbox_campaign_id_notification_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_outbox')),
    sa.UniqueConstraint('campaign_id', 'account_id', name=op.f('uq_mail_outbox_campaign_id'))
    )
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_outbox_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_mail_outbox_claim', ['claim'], unique=False)
        batch_op.create_index('ix_mail_outbox_state_campaign', ['state', 'campaign_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_mail_outbox_state_campaign')
        batch_op.drop_index('ix_mail_outbox_claim')
        batch_op.drop_index(batch_op.f('ix_mail_outbox_account_id'))

    op.drop_table('mail_outbox')
    with op.batch_alter_table('inbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_messages_site_id'))
        batch_op.drop_index(batch_op.f('ix_inbox_messages_campaign_id'))
        batch_op.drop_index('ix_inbox_messages_account_unread')
        batch_op.drop_index('ix_inbox_messages_account_created')

    op.drop_table('inbox_messages')
    with op.batch_alter_table('post_targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_post_targets_updated_by_id'))

    op.drop_table('post_targets')
    with op.batch_alter_table('notification_campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_campaigns_site_id'))
        batch_op.drop_index(batch_op.f('ix_notification_campaigns_post_id'))
        batch_op.drop_index(batch_op.f('ix_notification_campaigns_created_by_id'))

    op.drop_table('notification_campaigns')
    with op.batch_alter_table('site_follows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_follows_site_id'))

    op.drop_table('site_follows')
    with op.batch_alter_table('registrant_interests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registrant_interests_interest'))

    op.drop_table('registrant_interests')
    with op.batch_alter_table('notification_unsubscribes', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_unsubscribes_site_kind')

    op.drop_table('notification_unsubscribes')
    with op.batch_alter_table('notification_preferences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_preferences_site_id'))

    op.drop_table('notification_preferences')
