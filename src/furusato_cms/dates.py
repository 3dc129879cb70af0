"""How dates and times are written for people, in one place: 2026年11月5日(木) 14:00 in
Japanese, Thu 5 Nov 2026, 14:00 in English, always in Japan time (Asia/Tokyo).

Templates (``format_dt``, ``format_date``, ``format_span`` in templating.py), mails and
posters all go through these functions, so a page, its mail and its QR poster write the
same moment the same way. Machine-readable values (CSV, JSON, ``<time datetime>``) stay
ISO 8601 and do not come here."""
from datetime import date, datetime

from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime

from .clock import to_tokyo

PATTERNS = {
    "ja": {"datetime": "y年M月d日(E) H:mm", "date": "y年M月d日(E)", "plain_date": "y年M月d日",
           "time": "H:mm"},
    "en": {"datetime": "EEE d MMM y, H:mm", "date": "EEE d MMM y", "plain_date": "d MMM y",
           "time": "H:mm"},
}
"""``datetime``: a moment; ``date``: a calendar day with its weekday; ``plain_date``: a
day whose weekday means nothing (a date of birth); ``time``: the clock time alone."""

LOCALES = tuple(PATTERNS)


def _patterns(locale: str) -> dict:
    return PATTERNS.get(locale, PATTERNS["ja"])


def format_moment(moment: datetime | None, locale: str, kind: str = "datetime") -> str:
    """An aware moment (stored in UTC) as people in Japan read it; "" for None."""
    if moment is None:
        return ""
    return babel_format_datetime(to_tokyo(moment), _patterns(locale)[kind], locale=locale)


def format_day(day: date | datetime | None, locale: str, kind: str = "date") -> str:
    """A calendar day; a moment is first turned into its day in Japan."""
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = to_tokyo(day).date()
    return babel_format_date(day, _patterns(locale)[kind], locale=locale)


def format_span(starts: datetime, ends: datetime, locale: str) -> str:
    """「2026年11月5日(木) 14:00 – 16:00」: the end's date only when it is another day."""
    same_day = to_tokyo(starts).date() == to_tokyo(ends).date()
    return (f"{format_moment(starts, locale)} – "
            f"{format_moment(ends, locale, 'time' if same_day else 'datetime')}")
