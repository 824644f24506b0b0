"""login sessions kept on the server (replace users.session_token)

A login creates a login_sessions row; the signed cookie carries its random key, the table only the
key's SHA-256. Logout, a password change, a deactivation or a role change end the rows, so a copy
of an old cookie signs no one in. users.session_token (the previous, per-user mechanism) goes.

Revision ID: 5e8f1a2b3c4d
Revises: 7c2e4b19d5a0
Create Date: 2026-11-26 09:21:36.534928

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e8f1a2b3c4d'
down_revision = '7c2e4b19d5a0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_login_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_sessions')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_login_sessions_key_hash'))
    )
    op.create_index(op.f('ix_login_sessions_user_id'), 'login_sessions', ['user_id'], unique=False)
    # Not batch mode: on SQLite a batch drop re-creates `users`, and with foreign keys on, dropping the
    # old table would cascade into user_roles. SQLite >= 3.35 drops a plain column in place.
    op.drop_column('users', 'session_token')


def downgrade():
    # Every user gets a fresh random token (all old-style sessions start signed out).
    op.add_column('users', sa.Column('session_token', sa.String(length=64), nullable=False, server_default=''))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("UPDATE users SET session_token = md5(random()::text || id::text)")
    else:
        op.execute("UPDATE users SET session_token = lower(hex(randomblob(16)))")
    op.drop_index(op.f('ix_login_sessions_user_id'), table_name='login_sessions')
    op.drop_table('login_sessions')
