"""Time comes from a clock object so rules can be tested at any moment."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


class FixedClock:
    """A clock for tests and scripts (``--at``): returns a set moment, movable by hand."""

    def __init__(self, moment: datetime):
        if moment.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, delta):
        self.moment = self.moment + delta


def to_tokyo(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(TOKYO)
