"""Partner organisations (関係団体) that run contributor activities with a site."""
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base

PARTNER_KINDS = (
    "neighbourhood_association",  # 自治会
    "community_organisation",  # 地域運営組織
    "fire_brigade",  # 消防団
    "pta",  # PTA
    "npo",  # NPO
    "town_development_company",  # まちづくり会社
    "dmo",  # DMO
    "chamber_of_commerce",  # 商工会
    "dual_residence_support",  # 二地域居住支援法人
    "intermediary_support",  # 中間支援組織
    "other",
)
DESIGNATION_PATTERNS = ("per_project", "all_unless_excluded")


class PartnerOrganisation(Base):
    """A partner's projects count for premium only when the site designates them:
    ``per_project`` (pattern ①, the site designates each project) or
    ``all_unless_excluded`` (pattern ②, every project unless the site excludes it)."""

    __tablename__ = "partner_organisations"
    __table_args__ = (
        CheckConstraint(f"kind IN {PARTNER_KINDS!r}", name="kind"),
        CheckConstraint(f"designation_pattern IN {DESIGNATION_PATTERNS!r}", name="pattern"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    designation_pattern: Mapped[str] = mapped_column(String(30), default="per_project")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None] = mapped_column(default=None)
