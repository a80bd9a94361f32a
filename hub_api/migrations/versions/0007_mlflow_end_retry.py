"""jobs remember an MLflow end-of-run write that still has to be retried

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job") as batch:
        batch.add_column(
            sa.Column("mlflow_end_pending", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_index(batch.f("ix_job_mlflow_end_pending"), ["mlflow_end_pending"])


def downgrade() -> None:
    with op.batch_alter_table("job") as batch:
        batch.drop_index(batch.f("ix_job_mlflow_end_pending"))
        batch.drop_column("mlflow_end_pending")
