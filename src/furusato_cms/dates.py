"""How dates and times are written for people, in one place: 2026年11月5日(木) 14:00 in
Japanese, Thu 5 Nov 2026, 14:00 in English, always in Japan time (Asia/Tokyo).

Templates (``format_dt``, ``format_date``, ``format_span``: ``template_functions``), mails and
posters all go through these functions, so a page, its mail and its QR poster write the
same moment the same way. Machine-readable values (CSV, JSON, ``<time datetime>``) stay
ISO 8601 and do not come here.

Babel's ``format_datetime`` reads the pattern and the locale data again on every call
(about 12 µs; a page writes a dozen dates). So each pattern of ``PATTERNS`` is read once,
at import, into a ``str.format`` template, with the weekday and month names of ``NAMES``;
a call then only fills in the Tokyo-time fields (under 2 µs). A pattern field this does
not know, or a locale outside ``LOCALES``, is left to Babel as before.
tests/unit/test_dates_babel.py holds both ways to the same strings on every day."""
from datetime import date, datetime

from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import tokenize_pattern

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


# --- patterns read once -------------------------------------------------------------
# Fields passed to a compiled template, by position: the Tokyo-time values and the names.
_YEAR, _MONTH, _DAY, _HOUR, _MINUTE, _WEEKDAY_NAME, _MONTH_NAME = range(7)
_NUMERIC = {"y": _YEAR, "M": _MONTH, "d": _DAY, "H": _HOUR, "m": _MINUTE}
_TIME_FIELDS = {"H", "m"}

NAMES = {
    "ja": {"E": ("月", "火", "水", "木", "金", "土", "日")},
    "en": {"EEE": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
           "MMM": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                   "Nov", "Dec")},
}
"""The weekday (Monday first) and month names the patterns write, as CLDR has them and
Babel writes them. Written here rather than asked of Babel at import: its locale data,
once loaded, stays in the process (4.6 MB of a server's memory, issue 16) for these 19
names; Babel loads it only for a pattern or locale it is left to."""


def _compile(pattern: str, locale: str):
    """``(template, weekday_names, month_names, needs_time)`` for ``pattern``, or None
    when the pattern holds a field only Babel writes."""
    parts, names, needs_time = [], {}, False
    for kind, value in tokenize_pattern(pattern):
        if kind == "chars":
            parts.append(value.replace("{", "{{").replace("}", "}}"))
            continue
        char, count = value
        if char in ("y", "d", "H", "m") and count <= 2 and not (char == "y" and count == 2):
            # Babel pads a number to the field's length: "mm" -> 05, "d" -> 5, "y" -> 2026.
            parts.append(f"{{{_NUMERIC[char]}:0{count}d}}" if count > 1 else
                         f"{{{_NUMERIC[char]}}}")
            needs_time = needs_time or char in _TIME_FIELDS
        elif char == "M" and count <= 2:
            parts.append(f"{{{_MONTH}:0{count}d}}" if count > 1 else f"{{{_MONTH}}}")
        elif (char, count) in (("M", 3), ("E", 1), ("E", 2), ("E", 3)):
            slot = _MONTH_NAME if char == "M" else _WEEKDAY_NAME
            field_names = NAMES.get(locale, {}).get(char * count)
            # One width of each name per pattern: the template has one slot for it.
            if field_names is None or names.setdefault(slot, field_names) is not field_names:
                return None
            parts.append(f"{{{slot}}}")
        else:
            return None
    return "".join(parts), names.get(_WEEKDAY_NAME), names.get(_MONTH_NAME), needs_time


_COMPILED = {
    locale: {kind: _compile(pattern, locale) for kind, pattern in kinds.items()}
    for locale, kinds in PATTERNS.items()
}
"""locale -> kind -> compiled pattern (or None: Babel writes that one)."""


def _fill(compiled, value) -> str:
    template, weekday_names, month_names, needs_time = compiled
    return template.format(
        value.year, value.month, value.day,
        value.hour if needs_time else 0, value.minute if needs_time else 0,
        weekday_names[value.weekday()] if weekday_names else "",
        month_names[value.month - 1] if month_names else "",
    )


# --- the functions everything calls -----------------------------------------------------
def format_moment(moment: datetime | None, locale: str, kind: str = "datetime") -> str:
    """An aware moment (stored in UTC) as people in Japan read it; "" for None."""
    if moment is None:
        return ""
    compiled = _COMPILED.get(locale)
    if compiled is not None:
        compiled = compiled[kind]
        if compiled is not None:
            return _fill(compiled, to_tokyo(moment))
    return babel_format_datetime(to_tokyo(moment), _patterns(locale)[kind], locale=locale)


def format_day(day: date | datetime | None, locale: str, kind: str = "date") -> str:
    """A calendar day; a moment is first turned into its day in Japan."""
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = to_tokyo(day).date()
    compiled = _COMPILED.get(locale)
    if compiled is not None:
        compiled = compiled[kind]
        if compiled is not None and not compiled[3]:
            return _fill(compiled, day)
    return babel_format_date(day, _patterns(locale)[kind], locale=locale)


def format_span(starts: datetime, ends: datetime, locale: str) -> str:
    """「2026年11月5日(木) 14:00 – 16:00」: the end's date only when it is another day."""
    starts, ends = to_tokyo(starts), to_tokyo(ends)
    same_day = starts.date() == ends.date()
    return (f"{format_moment(starts, locale)} – "
            f"{format_moment(ends, locale, 'time' if same_day else 'datetime')}")


def template_functions(locale: str) -> dict:
    """``format_dt``, ``format_date`` and ``format_span`` as templates call them, writing
    in ``locale`` (templating.py makes them once per language)."""
    def format_dt(moment, kind="datetime"):
        return format_moment(moment, locale, kind)

    def format_date(day, kind="date"):
        return format_day(day, locale, kind)

    def format_span_(starts, ends):
        return format_span(starts, ends, locale)

    return {"format_dt": format_dt, "format_date": format_date, "format_span": format_span_}
