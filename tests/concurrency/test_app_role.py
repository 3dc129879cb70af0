"""docs/operations.md's database roles, applied to a fresh migrated PostgreSQL database:
the application's role (not the tables' owner) reads and writes rows and adds audit
entries, but can neither empty nor edit the audit log, nor switch its triggers off,
nor drop it."""
import os
import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from .support import POSTGRESQL_ONLY

pytestmark = POSTGRESQL_ONLY

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def documented_grants() -> str:
    """The SQL block of the guide that starts with the GRANT on the database."""
    blocks = re.findall(r"```sql\n(.*?)```", OPERATIONS.read_text(encoding="utf-8"), re.S)
    return next(block for block in blocks if block.startswith("GRANT CONNECT"))


@pytest.fixture
def app_role(own_database):
    """A login role of this run's own, granted exactly what the guide says; its URL."""
    role = f"furusato_app_{os.getpid()}"
    url = make_url(own_database.url)
    with own_database.engine.connect() as owner:
        owner.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        owner.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        statements = (documented_grants()
                      .replace("furusato_owner", "CURRENT_USER")
                      .replace("furusato_app", f'"{role}"')
                      .replace("DATABASE furusato", f'DATABASE "{url.database}"'))
        owner.execute(text(statements))
        owner.commit()
    engine = create_engine(url.set(username=role, password=None))
    yield engine
    engine.dispose()
    with own_database.engine.connect() as owner:
        owner.execute(text(f'DROP OWNED BY "{role}"'))
        owner.execute(text(f'DROP ROLE "{role}"'))
        owner.commit()


def refused(engine, statement):
    with engine.connect() as connection:
        with pytest.raises(DBAPIError) as error:
            connection.execute(text(statement))
        connection.rollback()
    return str(error.value.orig)


def test_the_application_role_adds_to_the_audit_log_but_cannot_erase_it(app_role):
    with app_role.connect() as connection:
        connection.execute(text(
            "INSERT INTO audit_entries (at, actor_label, action, target_type, target_id, "
            "client_addr, detail) VALUES (now(), 'app', 'test.entry', '', '', '', '{}')"))
        connection.execute(text(
            "INSERT INTO signin_throttles (key, failures, window_started_at) "
            "VALUES ('addr:192.0.2.1', 1, now())"))
        connection.commit()
        assert connection.scalar(text("SELECT count(*) FROM audit_entries")) == 1
    assert "permission denied" in refused(app_role, "TRUNCATE audit_entries")
    assert "permission denied" in refused(app_role, "DELETE FROM audit_entries")
    assert "permission denied" in refused(
        app_role, "UPDATE audit_entries SET action = 'forged'")
    assert "must be owner" in refused(app_role, "ALTER TABLE audit_entries DISABLE TRIGGER ALL")
    assert "must be owner" in refused(app_role, "DROP TABLE audit_entries")
    assert "permission denied" in refused(
        app_role, "UPDATE alembic_version SET version_num = 'forged'")
