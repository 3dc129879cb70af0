"""Sessions naming a transaction manager are joined to it by listeners registered once on
the Session class (models/transaction_join.py); other sessions are left alone."""
import pytest
import transaction
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from furusato_cms.models import Site

from ..factories import make_site


def joined(connection, manager):
    return Session(bind=connection, join_transaction_mode="create_savepoint",
                   info={"transaction_manager": manager})


def sites(connection):
    return connection.scalar(select(func.count()).select_from(Site))


def test_a_write_commits_with_the_manager(connection):
    manager = transaction.TransactionManager(explicit=True)
    before = sites(connection)
    manager.begin()
    session = joined(connection, manager)
    make_site(session, code="012025")
    manager.commit()
    assert not session.in_transaction()
    assert sites(connection) == before + 1


def test_an_aborted_transaction_keeps_nothing(connection):
    manager = transaction.TransactionManager(explicit=True)
    before = sites(connection)
    manager.begin()
    make_site(joined(connection, manager), code="012033")
    manager.abort()
    assert sites(connection) == before


def test_a_commit_around_the_manager_is_refused(connection):
    manager = transaction.TransactionManager(explicit=True)
    manager.begin()
    session = joined(connection, manager)
    make_site(session, code="012041")
    with pytest.raises(AssertionError):
        session.commit()
    manager.abort()


def test_a_session_without_a_manager_commits_on_its_own(connection):
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    make_site(session, code="012050")
    session.commit()
    assert connection.scalar(select(func.count()).select_from(Site)
                             .where(Site.code == "012050")) == 1
