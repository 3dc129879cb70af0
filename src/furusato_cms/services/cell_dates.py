"""Dates and times as people write them in a spreadsheet's cell (表計算のセルの日時):
an Excel date, time or serial number, or text in the Western calendar or an era (和暦:
令和8年4月10日, R8.4.10, 元年), with a weekday mark, 午前/午後 or AM/PM, 10時半, and an
offset. A time without one is Japan time. Impossible dates and dates outside their era
are refused with a message naming the cell's text."""
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from ..clock import TOKYO
from ..i18n import _
from .tabular_files import DASHES, CellError, clean_text


class NotADate(CellError):
    """The text is no date or time at all (rather than an impossible one)."""


@dataclass(frozen=True)
class Era:
    name: str
    letter: str
    first: date
    last: date | None


ERAS = (
    Era("令和", "R", date(2019, 5, 1), None),
    Era("平成", "H", date(1989, 1, 8), date(2019, 4, 30)),
    Era("昭和", "S", date(1926, 12, 25), date(1989, 1, 7)),
    Era("大正", "T", date(1912, 7, 30), date(1926, 12, 24)),
    Era("明治", "M", date(1868, 10, 23), date(1912, 7, 29)),
)
_ERA_BY_KEY = {key: era for era in ERAS for key in (era.name, era.letter)}
_DATES = (
    re.compile(r"(?P<era>令和|平成|昭和|大正|明治)\s*(?P<y>元|\d{1,2})\s*年\s*(?P<m>\d{1,2})\s*月"
               r"\s*(?P<d>\d{1,2})\s*日"),
    re.compile(r"(?P<era>[RHSTM])\s*(?P<y>元|\d{1,2})\s*(?P<sep>[./-])\s*(?P<m>\d{1,2})\s*"
               r"(?P=sep)\s*(?P<d>\d{1,2})(?!\d)"),
    re.compile(r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日"),
    re.compile(r"(?P<y>\d{4})\s*(?P<sep>[./-])\s*(?P<m>\d{1,2})\s*(?P=sep)\s*(?P<d>\d{1,2})"
               r"(?!\d)"),
)
_WEEKDAY = re.compile(r"\s*\((?:[月火水木金土日](?:曜日?)?|祝|祭)\)")
_TIME = re.compile(
    r"(?:(?P<ampm>午前|午後|AM|PM)\s*)?(?P<h>\d{1,2})\s*"
    r"(?::\s*(?P<min>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?|時\s*(?:(?P<jmin>\d{1,2})\s*分|(?P<half>半))?)"
    r"\s*(?P<ampm2>AM|PM)?\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?"
)


def _date_of(match, value) -> date:
    era = _ERA_BY_KEY.get(match.groupdict().get("era") or "")
    year = 1 if match["y"] == "元" else int(match["y"])
    try:
        day = date((era.first.year - 1 + year) if era else year, int(match["m"]), int(match["d"]))
    except ValueError:
        raise CellError(_("“${value}” is not a real date.", mapping={"value": value})) from None
    if era and not (era.first <= day and (era.last is None or day <= era.last)):
        raise CellError(_("“${value}” is not a date of the ${era} era.",
                          mapping={"value": value, "era": era.name}))
    return day


def _time_of(match) -> time:
    hour = int(match["h"])
    minute = int(match["min"] or match["jmin"] or (30 if match["half"] else 0))
    period = match["ampm"] or match["ampm2"]
    if period in ("午後", "PM") and hour < 12:
        hour += 12
    elif period in ("午前", "AM") and hour == 12:
        hour = 0
    return time(hour, minute, int(match["s"] or 0))


def _offset(text):
    if not text:
        return None
    if text == "Z":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def parse_when(value):
    """``(date or None, time or None, tzinfo or None)`` from a cell: an Excel date, time
    or serial number, or text like 2026年4月10日 10:00, 2026/4/10 10:00,
    2026-04-10T10:00, 令和8年4月10日(金) 午前10時, R8.4.10 10:00 or just 12:00."""
    if isinstance(value, datetime):
        # Excel gives a date-only cell as midnight: that is no time of day.
        at = value.time() if value.time() != time(0) else None
        return value.date(), at, value.tzinfo
    if isinstance(value, date):
        return value, None, None
    if isinstance(value, time):
        return None, value, None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 2958466:
        # openpyxl is imported where used: the web process's memory need not hold it
        # (and Pillow, which it loads) from start-up for every page.
        from openpyxl.utils.datetime import from_excel

        return parse_when(from_excel(value))
    text = clean_text(value)
    probe = text.translate(DASHES).upper()
    day, rest = None, probe
    for pattern in _DATES:
        match = pattern.match(probe)
        if match:
            day, rest = _date_of(match, text), probe[match.end():]
            break
    rest = _WEEKDAY.sub("", rest, count=1).strip()
    rest = rest[1:] if rest.startswith("T") else rest
    if not rest:
        if day is None:
            raise NotADate(_not_when(text))
        return day, None, None
    match = _TIME.fullmatch(rest)
    if not match:
        raise NotADate(_not_when(text))
    try:
        return day, _time_of(match), _offset(match["tz"])
    except ValueError:
        raise CellError(_("“${value}” is not a real time.", mapping={"value": text})) from None


def _not_when(text):
    return _("“${value}” is not a date and time. Write it like 2026年4月10日 10:00 or "
             "2026/4/10 10:00.", mapping={"value": text})


def moment(day: date, at: time, zone) -> datetime:
    """An aware UTC datetime; a time without a zone is Japan time."""
    return datetime.combine(day, at.replace(tzinfo=None), tzinfo=zone or TOKYO).astimezone(
        timezone.utc)


def parse_birthdate(value, today: date) -> date:
    """A date of birth: 1974/2/18, 昭和49年2月18日, S49.2.18, an Excel date …"""
    text = clean_text(value)
    try:
        day, at, _zone = parse_when(value)
    except NotADate:
        day, at = None, None
    if day is None or (at is not None and at != time(0)):
        raise CellError(_("“${value}” is not a date of birth. Write it like 1974/2/18 or "
                          "昭和49年2月18日.", mapping={"value": text}))
    if day.year < 1900 or day > today:
        raise CellError(_("The date of birth ${value} cannot be right.",
                          mapping={"value": day.isoformat()}))
    return day
