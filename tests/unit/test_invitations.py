"""Invitations to a site's staff: issuing, finding and accepting them (no HTTP)."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from furusato_cms.models import Account, AuditEntry, StaffMembership
from furusato_cms.services.audit import Actor
from furusato_cms.services.errors import Conflict, InvalidInput, NotAllowed
from furusato_cms.services.invitations import InvitationService
from furusato_cms.services.passwords import verify_password

from ..factories import make_account, make_site

NEW_PASSWORD = "apple orchard in autumn"


@pytest.fixture
def service(dbsession, clock, app_settings):
    return InvitationService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def invited(service, dbsession):
    site = make_site(dbsession)
    admin = make_account(dbsession, "admin@example.jp")
    actor = Actor(account_id=admin.id, label=admin.email)
    invitation, token = service.invite(actor, site, " Taro@Example.jp", "editor", is_reviewer=True)
    return invitation, token


def account_count(dbsession):
    return dbsession.scalar(select(func.count()).select_from(Account))


def test_invite_and_find_valid_keep_working(service, invited, clock, app_settings):
    invitation, token = invited
    assert invitation.email == "taro@example.jp"
    assert service.find_valid(token) is invitation
    assert service.find_valid("not-a-token") is None
    clock.advance(timedelta(days=app_settings.invitation_days))
    assert service.find_valid(token) is None


def test_new_person_gets_a_staff_account_and_the_membership(service, invited, dbsession, clock):
    invitation, token = invited
    account, membership = service.accept(
        invitation, client_addr="192.0.2.1", display_name=" 山田 太郎 ", password=NEW_PASSWORD
    )
    assert (account.email, account.display_name, account.kind) == (
        "taro@example.jp", "山田 太郎", "staff")
    assert verify_password(account.password_hash, NEW_PASSWORD)
    assert (membership.site_id, membership.account_id, membership.role, membership.is_reviewer) == (
        invitation.site_id, account.id, "editor", True)
    assert invitation.accepted_at == clock()
    assert service.find_valid(token) is None
    entry = dbsession.scalars(
        select(AuditEntry).where(AuditEntry.action == "staff.invitation_accept")
    ).one()
    assert entry.actor_id == account.id and entry.site_id == invitation.site_id


def test_an_invitation_works_once(service, invited):
    invitation, _token = invited
    service.accept(invitation, display_name="山田 太郎", password=NEW_PASSWORD)
    other = make_account(service.dbsession, "someone@example.jp")
    invitation.email = other.email
    with pytest.raises(Conflict):
        service.accept(invitation, account=other)


def test_existing_account_is_reused(service, invited, dbsession):
    invitation, _token = invited
    existing = make_account(dbsession, "taro@example.jp", kind="registrant")
    before = account_count(dbsession)
    account, membership = service.accept(invitation, account=existing)
    assert account is existing and account_count(dbsession) == before
    assert membership.account_id == existing.id


def test_new_account_refused_when_the_email_already_has_one(service, invited, dbsession):
    invitation, _token = invited
    make_account(dbsession, "taro@example.jp")
    with pytest.raises(Conflict):
        service.accept(invitation, display_name="山田 太郎", password=NEW_PASSWORD)
    assert invitation.accepted_at is None


def test_another_account_cannot_take_the_invitation(service, invited, dbsession):
    invitation, _token = invited
    with pytest.raises(NotAllowed):
        service.accept(invitation, account=make_account(dbsession, "hanako@example.jp"))


def test_already_a_member(service, invited, dbsession, clock):
    invitation, _token = invited
    existing = make_account(dbsession, "taro@example.jp")
    dbsession.add(StaffMembership(site_id=invitation.site_id, account_id=existing.id,
                                  role="coordinator", created_at=clock()))
    dbsession.flush()
    with pytest.raises(Conflict):
        service.accept(invitation, account=existing)


def test_expired_invitation_cannot_be_accepted(service, invited, clock, app_settings):
    invitation, _token = invited
    clock.advance(timedelta(days=app_settings.invitation_days, seconds=1))
    with pytest.raises(Conflict):
        service.accept(invitation, display_name="山田 太郎", password=NEW_PASSWORD)


@pytest.mark.parametrize(
    "name, password, field",
    [("", NEW_PASSWORD, "display_name"), ("x" * 101, NEW_PASSWORD, "display_name"),
     ("山田 太郎", "short", "password"), ("山田 太郎", "a" * 20, "password"),
     ("山田 太郎", "taro@example.jp", "password")],
)
def test_bad_name_or_password_is_refused_on_its_field(service, invited, dbsession, name,
                                                      password, field):
    invitation, _token = invited
    before = account_count(dbsession)
    with pytest.raises(InvalidInput) as refused:
        service.accept(invitation, display_name=name, password=password)
    assert refused.value.field == field
    assert account_count(dbsession) == before and invitation.accepted_at is None
