"""Sessions joined to a request's transaction (pyramid_tm) by listeners registered once.

``zope.sqlalchemy.register(session)`` adds seven listeners to each new session and
SQLAlchemy removes them when it is collected: about 60 µs of CPU on every request that
touches the database, a twentieth of a public page (issue 16). The same listeners are
registered here once, on the Session class, and act for a session that names its
transaction manager in ``session.info["transaction_manager"]`` (``get_tm_session`` and
the tests' wiring do); every other session (scripts that commit themselves) is left
alone. What they do is zope.sqlalchemy's ``ZopeTransactionEvents``: join the transaction
on first use (also when the first use is a change to an object read apart), mark it
changed after a write so that it commits, and refuse a commit made around the transaction
manager.
"""
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransactionOrigin
from transaction._transaction import Status
from zope.sqlalchemy.datamanager import STATUS_ACTIVE, join_transaction, mark_changed

MANAGER = "transaction_manager"
AUTOBEGIN = SessionTransactionOrigin.AUTOBEGIN


def _manager(session):
    return session.info.get(MANAGER)


@event.listens_for(Session, "after_begin")
def _join_on_begin(session, _transaction, _connection):
    manager = _manager(session)
    if manager is not None:
        join_transaction(session, STATUS_ACTIVE, manager)


@event.listens_for(Session, "after_transaction_create")
def _join_on_first_change(session, session_transaction):
    """A change to an object the session holds begins its transaction without a
    connection (the object came from a read on a borrowed one, services/paging.py): the
    session joins then, so the change is flushed and committed with the request's
    transaction, not dropped with the session. Only an autobegun transaction: joining
    begins one itself (``Session.begin``) when the session has none."""
    manager = _manager(session)
    if manager is not None and session_transaction.origin is AUTOBEGIN:
        join_transaction(session, STATUS_ACTIVE, manager)


@event.listens_for(Session, "after_attach")
def _join_on_attach(session, _instance):
    manager = _manager(session)
    if manager is not None:
        join_transaction(session, STATUS_ACTIVE, manager)


@event.listens_for(Session, "after_flush")
def _changed_by_flush(session, _flush_context):
    manager = _manager(session)
    if manager is not None:
        mark_changed(session, manager)


@event.listens_for(Session, "after_bulk_update")
@event.listens_for(Session, "after_bulk_delete")
def _changed_by_bulk(context):
    manager = _manager(context.session)
    if manager is not None:
        mark_changed(context.session, manager)


@event.listens_for(Session, "do_orm_execute")
def _changed_by_statement(execute_state):
    manager = _manager(execute_state.session)
    if manager is None or not execute_state.is_orm_statement:
        return
    if execute_state.is_update or execute_state.is_insert or execute_state.is_delete:
        mark_changed(execute_state.session, manager)


def mark_written(session):
    """A write run past the ORM's events (models/compiled_reads.py): the request's
    transaction must commit."""
    manager = _manager(session)
    if manager is not None:
        mark_changed(session, manager)


@event.listens_for(Session, "before_commit")
def _commit_only_through_the_manager(session):
    manager = _manager(session)
    if manager is None or session.in_nested_transaction():
        return
    assert manager.get().status == Status.COMMITTING, \
        "Transaction must be committed using the transaction manager"
