"""A site's own registration questions (登録時アンケートの独自項目)."""
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base

QUESTION_KINDS = ("single", "multiple", "text", "scale")


class SurveyQuestion(Base):
    """Retiring a question hides it from new answers and keeps the old ones."""

    __tablename__ = "survey_questions"
    __table_args__ = (
        CheckConstraint(f"kind IN {QUESTION_KINDS!r}", name="kind"),
        Index("ix_survey_questions_site_position", "site_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(10))
    label: Mapped[str] = mapped_column(String(300))
    help_text: Mapped[str] = mapped_column(Text, default="")
    choices: Mapped[list] = mapped_column(JSON, default=list)
    """[{"key": "a", "label": "…"}] for single and multiple choice."""
    scale_min: Mapped[int] = mapped_column(default=1)
    scale_max: Mapped[int] = mapped_column(default=5)
    required: Mapped[bool] = mapped_column(default=False)
    show_if_question_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_questions.id"), index=True, default=None
    )
    show_if_choice: Mapped[str | None] = mapped_column(String(50), default=None)
    """Asked only when the earlier question's answer includes this choice key."""
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None] = mapped_column(default=None)
