"""One way to write dates for people (dates.py): weekday in Japanese, Japan time."""
from datetime import date, datetime, timezone

from furusato_cms.dates import format_day, format_moment, format_span

MOMENT = datetime(2026, 11, 5, 5, 0, tzinfo=timezone.utc)  # 14:00 in Tokyo


def test_a_moment_in_japanese_has_its_weekday_and_tokyo_time():
    assert format_moment(MOMENT, "ja") == "2026年11月5日(木) 14:00"


def test_a_moment_in_english():
    assert format_moment(MOMENT, "en") == "Thu 5 Nov 2026, 14:00"


def test_late_utc_evening_is_the_next_day_in_tokyo():
    evening = datetime(2026, 11, 5, 16, 30, tzinfo=timezone.utc)
    assert format_moment(evening, "ja") == "2026年11月6日(金) 1:30"
    assert format_day(evening, "ja") == "2026年11月6日(金)"


def test_days_and_plain_days():
    assert format_day(date(2026, 11, 5), "ja") == "2026年11月5日(木)"
    assert format_day(date(1990, 8, 3), "ja", "plain_date") == "1990年8月3日"
    assert format_day(date(1990, 8, 3), "en", "plain_date") == "3 Aug 1990"


def test_nothing_is_written_for_no_value():
    assert format_moment(None, "ja") == "" and format_day(None, "ja") == ""


def test_a_span_names_the_end_date_only_when_it_is_another_day():
    ends = datetime(2026, 11, 5, 7, 0, tzinfo=timezone.utc)
    assert format_span(MOMENT, ends, "ja") == "2026年11月5日(木) 14:00 – 16:00"
    next_day = datetime(2026, 11, 6, 7, 0, tzinfo=timezone.utc)
    assert format_span(MOMENT, next_day, "en") == "Thu 5 Nov 2026, 14:00 – Fri 6 Nov 2026, 16:00"

