"""SQLAlchemy models, one module per aggregate, and the per-request session wiring."""
import os

import zope.sqlalchemy
from pyramid_retry import mark_error_retryable
from sqlalchemy import engine_from_config, event
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from . import lazy_begin, plan_cache, transaction_join  # noqa: F401  (transaction_join: listeners)
from .meta import Base  # noqa: F401
from .account import Account, EmailToken  # noqa: F401
from .attendance import (  # noqa: F401
    Attendance,
    AttendanceExternalId,
    AttendanceImport,
    PendingAttendanceClaim,
)
from .audit import AuditEntry  # noqa: F401
from .authentication import AuthSession, RecoveryCode, SigninThrottle  # noqa: F401
from .card_code import CardCode  # noqa: F401
from .community import (  # noqa: F401
    Consultation,
    ConsultationAttachment,
    ConsultationMessage,
    MonitorChoice,
    MonitorQuestion,
    MonitorResponse,
    MonitorSurvey,
    RoomPost,
    RoomReport,
    RoomThread,
)
from .content import (  # noqa: F401
    ContentItem,
    ContentTag,
    ContentTransition,
    ContentVersion,
    IntroPage,
    Post,
)
from .engagement import (  # noqa: F401
    InboxMessage,
    NotificationCampaign,
    NotificationPreference,
    OutboxMail,
    PostTarget,
    RegistrantInterest,
    SiteFollow,
    Unsubscribe,
)
from .identity import GuardianConsent, IdentityVerification  # noqa: F401
from .image import Image  # noqa: F401
from .need import Need  # noqa: F401
from .import_upload import ImportUpload  # noqa: F401
from .member_invitation import MemberImport, MemberInvitee  # noqa: F401
from .national import NationalSettings  # noqa: F401
from .oauth import (  # noqa: F401
    ApiRateWindow,
    OAuthAssertionJti,
    OAuthAuthorizationCode,
    OAuthClient,
    OAuthConsent,
    OAuthToken,
)
from .partner import PartnerOrganisation  # noqa: F401
from .policy import (  # noqa: F401
    PrivacyAcceptance,
    PrivacyNotice,
    TermsAcceptance,
    TermsVersion,
)
from .premium import (  # noqa: F401
    PremiumApplication,
    PremiumSlot,
    StayDeclaration,
    StayDocument,
    StayPoint,
    StayRecord,
)
from .project import ActivitySession, Project, SessionApplication  # noqa: F401
from .registration import Registration, RegistrationEvent, SurveyAnswer  # noqa: F401
from .site import Site  # noqa: F401
from .staff import Invitation, StaffMembership  # noqa: F401
from .statistics import (  # noqa: F401
    StatsChange,
    StatsFigure,
    StatsKey,
    StatsKeyRow,
    StatsRegistrationKey,
    StatsSnapshot,
)
from .support import (  # noqa: F401
    PartnerOffer,
    SupportApplication,
    SupportMeasure,
    SupportReceipt,
)
from .survey import SurveyQuestion  # noqa: F401
from .webhook import (  # noqa: F401
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSubscription,
)


def database_url(settings) -> str:
    """FURUSATO_DB_URL wins over the ini, so one ini serves SQLite and PostgreSQL."""
    return os.environ.get("FURUSATO_DB_URL") or settings["furusato.db_url"]


DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)
"""What a request meets when the database is down, unreachable, out of pooled connections,
or gave up on a statement or a lock (time-outs): a 503 for the person, never a 500."""

RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
"""serialization_failure and deadlock_detected: the transaction lost a race and may simply
be run again (pyramid_retry does, up to ``retry.attempts`` times)."""


def get_engine(settings, prefix="sqlalchemy.", timeouts=None):
    """The engine from the ini's ``sqlalchemy.*`` options (pool size, pool time-out ...).

    ``timeouts`` is ``(statement_ms, lock_ms)`` applied to every PostgreSQL connection at
    start-up (``-c`` options, no extra round trip), so one stuck lock or query cannot hold a
    thread for longer; 0 leaves that limit off. Migrations and data generation pass none."""
    url = database_url(settings)
    options = {key: value for key, value in settings.items() if key.startswith(prefix)}
    options[prefix + "url"] = url
    connect_args = {}
    if timeouts and url.startswith("postgresql"):
        statement_ms, lock_ms = timeouts
        connect_args["options"] = (
            f"-c statement_timeout={int(statement_ms)} -c lock_timeout={int(lock_ms)}"
        )
    engine = engine_from_config(options, prefix, connect_args=connect_args)
    if engine.dialect.name == "sqlite":
        _enable_sqlite_fk_and_savepoints(engine)
    plan_cache.install(engine)  # before lazy_begin: a SET goes outside the transaction
    lazy_begin.install(engine)
    event.listen(engine, "handle_error", _mark_lost_races_retryable)
    return engine


def _mark_driver_errors_retryable():
    """The driver's own classes too, for code that talks to psycopg directly."""
    try:
        from psycopg import errors
    except ImportError:  # SQLite-only installations
        return
    mark_error_retryable(errors.SerializationFailure)
    mark_error_retryable(errors.DeadlockDetected)


_mark_driver_errors_retryable()


def _mark_lost_races_retryable(context):
    """Mark the raised error itself, wherever it comes from (a statement, a flush, or the
    COMMIT that pyramid_tm runs after the view), so pyramid_retry runs the request again."""
    sqlstate = getattr(context.original_exception, "sqlstate", None)
    if sqlstate in RETRYABLE_SQLSTATES and context.sqlalchemy_exception is not None:
        mark_error_retryable(context.sqlalchemy_exception)


def _enable_sqlite_fk_and_savepoints(engine):
    """pysqlite's own transaction handling breaks SAVEPOINT; take it over (SQLAlchemy recipe)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN")


def get_session_factory(engine):
    return sessionmaker(bind=engine)


def get_tm_session(session_factory, transaction_manager, request=None) -> Session:
    """A session joined to ``transaction_manager`` (models/transaction_join.py).

    A request's session does not expire its objects at COMMIT: its transaction ends with
    the request (pyramid_tm commits after the page is rendered, and the session is then
    closed), so expiring every loaded object only cost time, about 80 µs of a check-in.
    Scripts, which may commit and go on, keep SQLAlchemy's default. A request's session
    lets its reads borrow a pooled connection until it begins (services/paging.py)."""
    info = {"transaction_manager": transaction_manager}
    if request is None:
        return session_factory(info=info)
    info[READS_APART] = True
    return session_factory(info=info, expire_on_commit=False)


GENERIC_PLAN = plan_cache.GENERIC_PLAN
READS_APART = lazy_begin.READS_APART
STANDALONE_WRITE = lazy_begin.STANDALONE_WRITE

WRITES = {"furusato_writes": True}
"""Execution options of a statement that writes although it reads as a SELECT (an
INSERT in a data-modifying CTE): the request's transaction must then commit."""


@event.listens_for(Session, "do_orm_execute")
def _writes_commit(execute_state):
    """zope.sqlalchemy commits only a session it saw write (a flush or an INSERT, UPDATE
    or DELETE statement); a SELECT carrying ``WRITES`` counts as one."""
    manager = execute_state.session.info.get("transaction_manager")
    if manager is not None and execute_state.execution_options.get("furusato_writes"):
        zope.sqlalchemy.mark_changed(execute_state.session, transaction_manager=manager)


@event.listens_for(Session, "before_flush")
def _audit_is_append_only(session, flush_context, instances):
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEntry):
            raise PermissionError("the audit log is append-only")


def includeme(config):
    """Give every request a session joined to its transaction (pyramid_tm).

    Tests hand in an open connection through the WSGI environ
    (``furusato.db_connection``); the session then works in savepoints inside
    the test's outer transaction, which is rolled back afterwards.
    """
    settings = config.get_settings()
    settings["tm.manager_hook"] = "pyramid_tm.explicit_manager"
    # pyramid_tm would ask for the signed-in user before the exception views are in
    # place, so a database outage there was a bare 500; the identity is loaded later.
    settings["tm.annotate_user"] = "false"
    config.include("pyramid_tm")
    config.include("pyramid_retry")

    engine = get_engine(settings, timeouts=config.registry["app_settings"].web_db_timeouts)
    session_factory = get_session_factory(engine)
    config.registry["dbsession_factory"] = session_factory
    config.registry["db_engine"] = engine

    def dbsession(request):
        connection = request.environ.get("furusato.db_connection")
        if connection is not None:
            return Session(
                bind=connection,
                join_transaction_mode="create_savepoint",
                info={"transaction_manager": request.tm},
            )
        return get_tm_session(session_factory, request.tm, request=request)

    config.add_request_method(dbsession, reify=True)

    def write_apart(request, write):
        """Run ``write(session)`` in a transaction of its own and commit it at once: for
        records that must stay although the request's transaction is rolled back (the
        audit of a refused request). Tests' connection gets a savepoint instead."""
        connection = request.environ.get("furusato.db_connection")
        session = (Session(bind=connection, join_transaction_mode="create_savepoint")
                   if connection is not None else session_factory())
        with session:
            write(session)
            session.commit()

    config.add_request_method(write_apart, "write_apart")
