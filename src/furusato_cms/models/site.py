"""A participating local government (参加自治体) and its settings."""
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index, String, Text, false, true
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base

SITE_STATES = ("applied", "active", "suspended", "withdrawn", "rejected")
SITE_KINDS = ("prefecture", "municipality")
THEMES = ("default", "contrast")


class SiteTraits:
    """What a site's columns say about it, for the mapped ``Site`` and the lean
    ``SiteRecord`` alike."""

    @property
    def is_prefecture(self) -> bool:
        return self.kind == "prefecture"

    @property
    def is_public(self) -> bool:
        return self.state == "active" and not self.preparing


class Site(SiteTraits, Base):
    """A site is one local government, keyed by its 全国地方公共団体コード.

    The code's first two digits name the prefecture, so a municipality's
    prefecture is found by ``prefecture_code`` rather than a stored parent id.
    """

    __tablename__ = "sites"
    __table_args__ = (
        CheckConstraint("length(code) = 6", name="code_length"),
        CheckConstraint(f"state IN {SITE_STATES!r}", name="state"),
        CheckConstraint(f"kind IN {SITE_KINDS!r}", name="kind"),
        CheckConstraint("premium_min_activities >= 3", name="premium_min_activities"),
        CheckConstraint("long_stay_min_days >= 1", name="long_stay_min_days"),
        CheckConstraint("inactivity_days >= 30", name="inactivity_days"),
        Index("ix_sites_state_prefecture", "state", "prefecture_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_kana: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(20))
    prefecture_code: Mapped[str] = mapped_column(String(2))
    state: Mapped[str] = mapped_column(String(20), default="applied")
    state_reason: Mapped[str] = mapped_column(Text, default="")
    applied_at: Mapped[datetime]
    state_changed_at: Mapped[datetime]
    joined_on: Mapped[date | None] = mapped_column(default=None)
    """参画日: the first activation; decides the fee status."""

    contact_name: Mapped[str] = mapped_column(String(100), default="")
    contact_department: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")

    theme: Mapped[str] = mapped_column(String(30), default="default")
    inactivity_days: Mapped[int] = mapped_column(default=730)
    """The site's own release period (解除); the longer of it and the national period applies."""
    premium_min_activities: Mapped[int] = mapped_column(default=3)
    premium_auto_approve: Mapped[bool] = mapped_column(default=True, server_default=true())
    """Premium granted as soon as the records meet the rules (the guideline's standard);
    off only where the local government chose coordinator review (審査)."""
    auto_renewal: Mapped[bool] = mapped_column(default=True)
    long_stay_enabled: Mapped[bool] = mapped_column(default=False)
    long_stay_min_days: Mapped[int] = mapped_column(default=10)
    checkin_before_minutes: Mapped[int] = mapped_column(default=60)
    checkin_after_minutes: Mapped[int] = mapped_column(default=120)
    preparing: Mapped[bool] = mapped_column(default=False, server_default=false())
    """準備中: approved, but its admin has not published it yet; staff prepare its pages,
    the public sees nothing and nobody can register."""
    community_room_enabled: Mapped[bool] = mapped_column(default=False)
    """The site's online community room (オンラインコミュニティルーム) is open; off by default."""

    logo_key: Mapped[str | None] = mapped_column(String(32), default=None)
    """The site's logo (ロゴ): the public key of one of its images, shown in the header."""
    header_image_key: Mapped[str | None] = mapped_column(String(32), default=None)
    """The photo at the top of the site's page (ヘッダー画像), one of its images."""
    accent_color: Mapped[str | None] = mapped_column(String(7), default=None)
    """The site's own colour (#rrggbb) for the header and buttons, accepted only when it
    keeps WCAG AA contrast (services/site_branding.py); None: the theme's colour."""

    def __repr__(self):
        return f"<Site {self.code} {self.state}>"


class SiteRecord(SiteTraits):
    """A site as an anonymous visitor's page reads it: its columns, not a mapped object.
    Loading a mapped Site cost four times the CPU of reading its row (identity map,
    change tracking, the instance's state), on every page under /s/ (issue 16); a page
    that reads must not change the site, and one that writes is not anonymous."""

    __slots__ = tuple(column.key for column in Site.__table__.columns)

    def __init__(self, row):
        for name, value in zip(self.__slots__, row):
            setattr(self, name, value)

    def __repr__(self):
        return f"<SiteRecord {self.code} {self.state}>"


SITE_COLUMNS = tuple(Site.__table__.columns)
"""In ``SiteRecord``'s order."""
