"""dates.py writes dates from patterns read once at import (issue 16); Babel, reading the
same pattern on every call, is the reference: both must give the same string for every
kind, in both languages, on every weekday and month, at day and year edges and where a
UTC moment is already the next day in Tokyo."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime

from furusato_cms import dates
from furusato_cms.clock import to_tokyo
from furusato_cms.dates import PATTERNS, format_day, format_moment, format_span

TOKYO = ZoneInfo("Asia/Tokyo")
KINDS = ("datetime", "date", "plain_date", "time")
DAY_KINDS = ("date", "plain_date")


def babel_moment(moment, locale, kind="datetime"):
    return babel_format_datetime(to_tokyo(moment), PATTERNS[locale][kind], locale=locale)


def babel_day(day, locale, kind="date"):
    if isinstance(day, datetime):
        day = to_tokyo(day).date()
    return babel_format_date(day, PATTERNS[locale][kind], locale=locale)


def moments():
    """Every day of 2025 and the weeks around its ends, at UTC times either side of
    Tokyo's midnight (15:00 UTC) and noon (03:00 UTC), plus odd corners."""
    first = datetime(2024, 12, 20, tzinfo=timezone.utc)
    for offset in range(380):
        day = first + timedelta(days=offset)
        for hour, minute in ((0, 0), (2, 59), (3, 0), (14, 59), (15, 0), (23, 59)):
            yield day.replace(hour=hour, minute=minute)
    yield datetime(2024, 2, 28, 15, 0, tzinfo=timezone.utc)  # 29 Feb in Tokyo
    yield datetime(2099, 12, 31, 15, 0, tzinfo=timezone.utc)  # 2100 in Tokyo
    yield datetime(1999, 12, 31, 14, 59, 59, 999999, tzinfo=timezone.utc)
    yield datetime(1950, 7, 1, 3, 30, tzinfo=timezone.utc)  # Japan's summer time then
    yield datetime(2026, 11, 5, 14, 0, tzinfo=TOKYO)  # already Tokyo time
    yield datetime(2026, 11, 5, 14, 0, tzinfo=timezone(timedelta(hours=-5)))
    yield datetime(1, 1, 1, 15, 0, tzinfo=timezone.utc)  # year 1 -> "1", not "0001"


MOMENTS = list(moments())


@pytest.mark.parametrize("locale", sorted(PATTERNS))
def test_every_moment_and_kind_is_written_as_babel_writes_it(locale):
    for moment in MOMENTS:
        for kind in KINDS:
            assert format_moment(moment, locale, kind) == babel_moment(moment, locale, kind), \
                (moment, kind)


@pytest.mark.parametrize("locale", sorted(PATTERNS))
def test_every_day_and_kind_is_written_as_babel_writes_it(locale):
    for moment in MOMENTS:
        for day in (moment, moment.date()):
            for kind in DAY_KINDS:
                assert format_day(day, locale, kind) == babel_day(day, locale, kind), \
                    (day, kind)


@pytest.mark.parametrize("locale", sorted(PATTERNS))
def test_spans_are_written_as_before(locale):
    for starts in MOMENTS[:400]:
        for length in (timedelta(hours=2), timedelta(hours=9, minutes=1), timedelta(days=1)):
            ends = starts + length
            same_day = to_tokyo(starts).date() == to_tokyo(ends).date()
            expected = (f"{babel_moment(starts, locale)} – "
                        f"{babel_moment(ends, locale, 'time' if same_day else 'datetime')}")
            assert format_span(starts, ends, locale) == expected


def test_weekday_and_month_names_are_babels():
    assert dates._COMPILED["ja"]["date"][1] == ("月", "火", "水", "木", "金", "土", "日")
    assert dates._COMPILED["en"]["date"][1][0] == babel_format_date(
        date(2026, 11, 2), "EEE", locale="en")
    assert dates._COMPILED["en"]["plain_date"][2][8] == babel_format_date(
        date(2026, 9, 1), "MMM", locale="en")


def test_a_locale_without_its_own_patterns_is_left_to_babel_as_before():
    moment = datetime(2026, 11, 5, 5, 0, tzinfo=timezone.utc)
    assert format_moment(moment, "fr") == babel_format_datetime(
        to_tokyo(moment), PATTERNS["ja"]["datetime"], locale="fr")
    assert format_day(date(2026, 11, 5), "fr") == babel_format_date(
        date(2026, 11, 5), PATTERNS["ja"]["date"], locale="fr")


def test_fields_it_does_not_know_are_left_to_babel():
    assert dates._compile("h:mm a", "en") is None
    assert dates._compile("yy/MM/dd", "ja") is None
    compiled = dates._compile("'{at}' MM/dd HH:mm", "en")
    moment = datetime(2026, 3, 4, 5, 6, tzinfo=TOKYO)
    assert dates._fill(compiled, moment) == babel_format_datetime(
        moment, "'{at}' MM/dd HH:mm", locale="en") == "{at} 03/04 05:06"


def test_unknown_kinds_and_a_time_of_a_plain_day_fail_as_before():
    with pytest.raises(KeyError):
        format_moment(datetime(2026, 1, 1, tzinfo=timezone.utc), "ja", "week")
    with pytest.raises(AttributeError):
        format_day(date(2026, 1, 1), "ja", "time")
