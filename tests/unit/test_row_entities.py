"""Objects made from a compiled read's row (models/row_entities.py) are what the ORM would
have loaded: the same values, persistent and unchanged in the session, so a change to one
is written like a change to any loaded object."""
from sqlalchemy import LABEL_STYLE_TABLENAME_PLUS_COL, bindparam, inspect, select

from furusato_cms.models import Account, ActivitySession, Project, StaffMembership
from furusato_cms.models.row_entities import EntityColumns, columns_of
from furusato_cms.services.paging import read_rows

from ..activity_factories import make_project, make_session
from ..conftest import NOW
from ..factories import make_account, make_site, make_staff
from ..statements import statements_during

ACCOUNT, MEMBERSHIP = EntityColumns(Account), EntityColumns(StaffMembership)
ACCOUNT_WITH_ROLES = (
    select(*columns_of(ACCOUNT, MEMBERSHIP))
    .outerjoin(StaffMembership, StaffMembership.account_id == Account.id)
    .where(Account.id == bindparam("account_id"))
    .set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL)
)


def rows_of(dbsession, account_id):
    return read_rows(dbsession, ACCOUNT_WITH_ROLES, {"account_id": account_id}).all()


def column_values(instance) -> dict:
    return {attr.key: getattr(instance, attr.key)
            for attr in inspect(type(instance)).column_attrs}


def test_the_objects_hold_what_the_orm_loads_and_are_persistent_unchanged(dbsession):
    site = make_site(dbsession)
    account_id = make_staff(dbsession, site, "editor").id
    dbsession.commit()
    dbsession.expunge_all()
    [row] = rows_of(dbsession, account_id)
    account, membership = ACCOUNT.entity(dbsession, row), MEMBERSHIP.entity(dbsession, row)
    expected_account = column_values(dbsession.get(Account, account_id))
    expected_membership = column_values(dbsession.get(StaffMembership, membership.id))
    assert column_values(account) == expected_account
    assert column_values(membership) == expected_membership
    assert inspect(account).persistent and inspect(membership).persistent
    assert not dbsession.dirty and not dbsession.new
    assert membership.account is account


def test_a_change_to_a_made_object_is_written(dbsession):
    account_id = make_account(dbsession, "a@example.jp", kind="registrant").id
    dbsession.commit()
    dbsession.expunge_all()
    account = ACCOUNT.entity(dbsession, rows_of(dbsession, account_id)[0])
    account.display_name = "新しい 名前"
    statements = statements_during(dbsession.connection(), dbsession.flush)
    assert any(sql.lstrip().upper().startswith("UPDATE ACCOUNTS") for sql in statements)
    dbsession.expunge_all()
    assert dbsession.get(Account, account_id).display_name == "新しい 名前"


def test_the_object_the_session_holds_is_returned_untouched(dbsession):
    account = make_account(dbsession, "b@example.jp", kind="registrant")
    dbsession.commit()
    account.display_name = "まだ 書いていない"
    made = ACCOUNT.entity(dbsession, rows_of(dbsession, account.id)[0])
    assert made is account
    assert made.display_name == "まだ 書いていない"


def test_an_outer_join_that_found_nothing_makes_no_object(dbsession):
    account_id = make_account(dbsession, "c@example.jp", kind="registrant").id
    [row] = rows_of(dbsession, account_id)
    assert MEMBERSHIP.entity(dbsession, row) is None
    assert ACCOUNT.entity(dbsession, row).id == account_id


def test_a_class_mapped_over_two_tables_is_made_whole(dbsession):
    """A project (joined inheritance: content_items and projects) read with its session."""
    site = make_site(dbsession)
    project = make_project(dbsession, site)
    session_id = make_session(dbsession, project, NOW).id
    project_id = project.id
    dbsession.commit()
    dbsession.expunge_all()
    activity, project_columns = EntityColumns(ActivitySession), EntityColumns(Project)
    statement = (select(*columns_of(activity, project_columns))
                 .join(Project, Project.id == ActivitySession.project_id)
                 .where(ActivitySession.id == bindparam("session_id"))
                 .set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL))
    row = read_rows(dbsession, statement, {"session_id": session_id}).one()
    made = project_columns.entity(dbsession, row)
    assert type(made) is Project and inspect(made).persistent
    expected = column_values(dbsession.get(Project, project_id))
    assert column_values(made) == expected
    assert expected["title"] == "りんご収穫の手伝い"
    assert activity.entity(dbsession, row).project is made


def test_a_made_object_belongs_to_the_session_and_loads_what_was_not_read(dbsession):
    """As a loaded object: the session owns it (expunge, refresh work) and a relationship
    the statement did not read loads on first use."""
    site = make_site(dbsession)
    account_id = make_staff(dbsession, site, "editor").id
    dbsession.commit()
    dbsession.expunge_all()
    account = ACCOUNT.entity(dbsession, rows_of(dbsession, account_id)[0])
    assert inspect(account).session is dbsession and account in dbsession
    assert [m.role for m in account.memberships] == ["editor"]
    dbsession.refresh(account)
    dbsession.expunge(account)
    assert account not in dbsession and inspect(account).detached
