"""How mails and notices name an activity session (活動日): its project, its time in
Japan time, its place. A module of its own so that the project services and the
notification service (which sends their notices) can both use it without importing
each other."""
from babel.dates import format_datetime

from ..clock import to_tokyo
from ..templating import DATETIME_FORMATS


def when_text(session, locale) -> str:
    """A session's start and end in Japan time, as mails write it."""
    fmt = DATETIME_FORMATS.get(locale, DATETIME_FORMATS["ja"])
    starts, ends = to_tokyo(session.starts_at), to_tokyo(session.ends_at)
    end_format = "H:mm" if starts.date() == ends.date() else fmt
    return (f"{format_datetime(starts, fmt, locale=locale)} – "
            f"{format_datetime(ends, end_format, locale=locale)}")


def session_lines(session, locale) -> list:
    """The lines of a mail that say which session it is about."""
    lines = [session.project.title, when_text(session, locale)]
    if session.place:
        lines.append(session.place)
    return lines
