"""国が決める設定 (national settings): what the national operator decides for every site."""
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base

DEFAULT_INACTIVITY_DAYS = 730
"""The national inactivity release period until the operator changes it (2 years)."""
INACTIVITY_DAYS_RANGE = (60, 3650)
"""A period shorter than the 30-day notice plus 30 days would give notice on sign-up day."""


class NationalSettings(Base):
    """Exactly one row (id 1, created by the migration). Sites read it, never change it."""

    __tablename__ = "national_settings"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint(
            f"inactivity_days BETWEEN {INACTIVITY_DAYS_RANGE[0]} AND {INACTIVITY_DAYS_RANGE[1]}",
            name="inactivity_days",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    free_period_end: Mapped[date | None] = mapped_column(default=None)
    """End of the fee-free period (無料期間の終了日) for governments joining by FY2027;
    empty until the country decides it."""
    inactivity_days: Mapped[int] = mapped_column(default=DEFAULT_INACTIVITY_DAYS)
    """The national release period (解除までの期間); a site may lengthen it, never shorten it."""
    updated_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True, default=None
    )
