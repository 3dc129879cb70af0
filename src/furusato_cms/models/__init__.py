"""SQLAlchemy models, one module per aggregate, and the per-request session wiring."""
import os

import zope.sqlalchemy
from sqlalchemy import engine_from_config, event
from sqlalchemy.orm import Session, sessionmaker

from .meta import Base  # noqa: F401
from .account import Account, EmailToken  # noqa: F401
from .attendance import Attendance, AttendanceImport, PendingAttendanceClaim  # noqa: F401
from .audit import AuditEntry  # noqa: F401
from .authentication import AuthSession, RecoveryCode, SigninThrottle  # noqa: F401
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
from .partner import PartnerOrganisation  # noqa: F401
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
from .statistics import StatsFigure, StatsSnapshot  # noqa: F401
from .support import (  # noqa: F401
    PartnerOffer,
    SupportApplication,
    SupportMeasure,
    SupportReceipt,
)
from .survey import SurveyQuestion  # noqa: F401


def database_url(settings) -> str:
    """FURUSATO_DB_URL wins over the ini, so one ini serves SQLite and PostgreSQL."""
    return os.environ.get("FURUSATO_DB_URL") or settings["furusato.db_url"]


def get_engine(settings, prefix="sqlalchemy."):
    url = database_url(settings)
    engine = engine_from_config({prefix + "url": url}, prefix)
    if engine.dialect.name == "sqlite":
        _enable_sqlite_fk_and_savepoints(engine)
    return engine


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
    dbsession = session_factory(info={"transaction_manager": transaction_manager})
    zope.sqlalchemy.register(dbsession, transaction_manager=transaction_manager)
    return dbsession


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
    config.include("pyramid_tm")
    config.include("pyramid_retry")

    engine = get_engine(settings)
    session_factory = get_session_factory(engine)
    config.registry["dbsession_factory"] = session_factory
    config.registry["db_engine"] = engine

    def dbsession(request):
        connection = request.environ.get("furusato.db_connection")
        if connection is not None:
            session = Session(
                bind=connection,
                join_transaction_mode="create_savepoint",
                info={"transaction_manager": request.tm},
            )
            zope.sqlalchemy.register(session, transaction_manager=request.tm)
            return session
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
