"""How mails and notices name an activity session (活動日): its project, its time in
Japan time, its place. A module of its own so that the project services and the
notification service (which sends their notices) can both use it without importing
each other."""
from ..dates import format_span


def when_text(session, locale) -> str:
    """A session's start and end in Japan time, as pages, mails and posters write it."""
    return format_span(session.starts_at, session.ends_at, locale)


def session_lines(session, locale) -> list:
    """The lines of a mail that say which session it is about."""
    lines = [session.project.title, when_text(session, locale)]
    if session.place:
        lines.append(session.place)
    return lines
