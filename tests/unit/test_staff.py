"""A site's staff: inviting editors and coordinators, the reviewer flag, removing people
and never the last site admin."""
import pytest
from sqlalchemy import event, select

from furusato_cms.models import AuditEntry, Invitation, StaffMembership
from furusato_cms.services.errors import InvalidInput, NotAllowed
from furusato_cms.services.invitations import InvitationService
from furusato_cms.services.staff import StaffService

from ..factories import MATSUMOTO, NAGANO_CITY, make_site, make_staff
from ..sites_factories import actor_for


@pytest.fixture
def service(dbsession, clock, app_settings):
    return StaffService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def site(dbsession):
    return make_site(dbsession, NAGANO_CITY)


@pytest.fixture
def admin(dbsession, site):
    return make_staff(dbsession, site, "site_admin")


def _membership(dbsession, account):
    return dbsession.scalars(
        select(StaffMembership).where(StaffMembership.account_id == account.id)
    ).one()


@pytest.mark.parametrize("role", ["editor", "coordinator"])
def test_admin_invites_editors_and_coordinators(
    service, dbsession, clock, app_settings, site, admin, role
):
    invitation, token = service.invite(actor_for(admin), site, "New@City.example.jp", role)
    found = InvitationService(dbsession, clock=clock, settings=app_settings).find_valid(token)
    assert found.id == invitation.id
    assert (found.role, found.email, found.site_id) == (role, "new@city.example.jp", site.id)
    assert dbsession.scalars(select(AuditEntry.action)).all() == ["staff.invite"]


def test_reviewer_flag_is_kept_for_editors_only(service, site, admin):
    actor = actor_for(admin)
    editor, _t = service.invite(actor, site, "e@city.example.jp", "editor", True)
    coordinator, _t = service.invite(actor, site, "c@city.example.jp", "coordinator", True)
    assert editor.is_reviewer and not coordinator.is_reviewer


@pytest.mark.parametrize("role", ["site_admin", "partner", "operator"])
def test_admin_cannot_invite_other_roles(service, dbsession, site, admin, role):
    with pytest.raises(InvalidInput) as info:
        service.invite(actor_for(admin), site, "x@city.example.jp", role)
    assert info.value.field == "role"
    assert dbsession.scalar(select(Invitation.id)) is None


def test_existing_staff_and_bad_addresses_are_refused(service, dbsession, site, admin):
    make_staff(dbsession, site, "editor", email="editor@city.example.jp")
    for email in ("Editor@City.example.jp", "nonsense"):
        with pytest.raises(InvalidInput) as info:
            service.invite(actor_for(admin), site, email, "editor")
        assert info.value.field == "email"


def test_remove_deletes_the_membership_and_audits(service, dbsession, site, admin):
    editor = make_staff(dbsession, site, "editor")
    service.remove(actor_for(admin), _membership(dbsession, editor))
    assert dbsession.scalar(
        select(StaffMembership).where(StaffMembership.account_id == editor.id)
    ) is None
    entry = dbsession.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.detail["email"], entry.detail["role"]) == (
        "staff.remove", editor.email, "editor"
    )


def test_the_last_site_admin_cannot_be_removed(service, dbsession, site, admin):
    with pytest.raises(NotAllowed) as info:
        service.remove(actor_for(admin), _membership(dbsession, admin))
    assert "last site administrator" in info.value.message.interpolate()
    assert _membership(dbsession, admin) is not None
    assert dbsession.scalar(select(AuditEntry.id)) is None


def test_an_admin_may_leave_when_another_admin_remains(service, dbsession, site, admin):
    make_staff(dbsession, site, "site_admin", email="second@city.example.jp")
    service.remove(actor_for(admin), _membership(dbsession, admin))
    assert dbsession.scalar(
        select(StaffMembership).where(StaffMembership.account_id == admin.id)
    ) is None


def test_admins_of_other_sites_do_not_count(service, dbsession, site, admin):
    other = make_site(dbsession, MATSUMOTO)
    make_staff(dbsession, other, "site_admin", email="other@city.example.jp")
    with pytest.raises(NotAllowed):
        service.remove(actor_for(admin), _membership(dbsession, admin))


def test_reviewer_flag_is_set_and_cleared_for_editors(service, dbsession, site, admin):
    membership = _membership(dbsession, make_staff(dbsession, site, "editor"))
    service.set_reviewer(actor_for(admin), membership, True)
    assert membership.is_reviewer
    service.set_reviewer(actor_for(admin), membership, False)
    assert not membership.is_reviewer
    details = [e.detail["is_reviewer"] for e in dbsession.scalars(
        select(AuditEntry).where(AuditEntry.action == "staff.reviewer").order_by(AuditEntry.id)
    )]
    assert details == [True, False]


def test_reviewer_flag_is_refused_for_coordinators(service, dbsession, site, admin):
    membership = _membership(dbsession, make_staff(dbsession, site, "coordinator"))
    with pytest.raises(NotAllowed):
        service.set_reviewer(actor_for(admin), membership, True)
    assert not membership.is_reviewer


def test_listing_uses_one_query_each(service, dbsession, connection, clock, site, admin):
    from datetime import timedelta

    for n in range(3):
        make_staff(dbsession, site, "editor", email=f"e{n}@city.example.jp")
    service.invite(actor_for(admin), site, "open@city.example.jp", "coordinator")
    expired, _t = service.invite(actor_for(admin), site, "old@city.example.jp", "editor")
    expired.expires_at = clock() - timedelta(seconds=1)
    dbsession.flush()
    dbsession.expire_all()
    assert site.id  # loaded again before counting
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(connection, "before_cursor_execute", listener)
    try:
        memberships = service.memberships(site)
        names = [m.account.email for m in memberships]
        invitations = service.open_invitations(site)
    finally:
        event.remove(connection, "before_cursor_execute", listener)
    assert len(statements) == 2
    assert memberships[0].role == "site_admin" and len(names) == 4
    assert [i.email for i in invitations] == ["open@city.example.jp"]
