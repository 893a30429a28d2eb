"""follower tokens: a token's scope, "terminal" (every token so far) or "follower" (head office)

Revision ID: 0018
Revises: 0017

A follower token reads GET /pos-session/journal and nothing else (app/api/auth.py): head office
follows a shop's journal with one. Every existing token keeps its scope, "terminal".
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("api_token") as batch:
        batch.add_column(
            sa.Column("scope", sa.String(16), nullable=False, server_default="terminal")
        )


def downgrade():
    with op.batch_alter_table("api_token") as batch:
        batch.drop_column("scope")
