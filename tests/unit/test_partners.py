"""Partner organisations (関係団体): registering, editing, retiring, inviting their staff."""
import pytest
from sqlalchemy import select

from furusato_cms.models import AuditEntry, StaffMembership
from furusato_cms.models.partner import PARTNER_KINDS
from furusato_cms.services.errors import Conflict, InvalidInput, NotAllowed
from furusato_cms.services.invitations import InvitationService
from furusato_cms.services.mail import localizer_for
from furusato_cms.services.partners import DESIGNATION_LABELS, PARTNER_KIND_LABELS, PartnerService

from ..activity_factories import make_partner
from ..content_factories import actor_for
from ..factories import NAGANO_CITY, make_site, make_staff
from ..projects_factories import make_partner_staff


@pytest.fixture
def site(dbsession):
    return make_site(dbsession, NAGANO_CITY)


@pytest.fixture
def admin(dbsession, site):
    return actor_for(make_staff(dbsession, site, "site_admin"))


@pytest.fixture
def service(dbsession, clock, app_settings):
    return PartnerService(dbsession, clock=clock, settings=app_settings)


def actions(dbsession, target_type="PartnerOrganisation"):
    return list(dbsession.scalars(
        select(AuditEntry.action).where(AuditEntry.target_type == target_type)
        .order_by(AuditEntry.id)
    ))


def register(service, admin, site, **kw):
    values = {"name": "中央町自治会", "kind": "neighbourhood_association",
              "designation_pattern": "per_project", "contact_email": ""}
    values.update(kw)
    return service.create(admin, site, **values)


def test_every_kind_has_its_japanese_label(app_settings):
    translate = localizer_for(app_settings, "ja").translate
    assert tuple(PARTNER_KIND_LABELS) == PARTNER_KINDS
    assert [translate(PARTNER_KIND_LABELS[k]) for k in PARTNER_KINDS] == [
        "自治会", "地域運営組織", "消防団", "PTA", "NPO", "まちづくり会社", "DMO", "商工会",
        "二地域居住支援法人", "中間支援組織", "その他",
    ]
    assert translate(DESIGNATION_LABELS["per_project"]).startswith("①")
    assert translate(DESIGNATION_LABELS["all_unless_excluded"]).startswith("②")


def test_create_normalises_and_audits(service, admin, site, dbsession):
    partner = register(service, admin, site, name="  松代  消防団 ", kind="fire_brigade",
                       designation_pattern="all_unless_excluded",
                       contact_email=" Bou@Example.JP ")
    assert (partner.name, partner.kind, partner.designation_pattern, partner.contact_email) == (
        "松代 消防団", "fire_brigade", "all_unless_excluded", "bou@example.jp")
    assert actions(dbsession) == ["partner.create"]


@pytest.mark.parametrize("field, values", [
    ("name", {"name": "  "}),
    ("kind", {"kind": "club"}),
    ("designation_pattern", {"designation_pattern": "sometimes"}),
    ("contact_email", {"contact_email": "not-an-address"}),
])
def test_create_refuses_bad_input_naming_the_field(service, admin, site, field, values):
    with pytest.raises(InvalidInput) as refused:
        register(service, admin, site, **values)
    assert refused.value.field == field


def test_names_are_unique_among_current_partners(service, admin, site):
    first = register(service, admin, site)
    with pytest.raises(Conflict):
        register(service, admin, site)
    service.retire(admin, first)
    assert register(service, admin, site).id != first.id


def test_update_records_what_changed_and_retired_ones_stay_as_they_were(
        service, admin, site, dbsession):
    partner = register(service, admin, site)
    service.update(admin, partner, name="中央町自治会", kind="neighbourhood_association",
                   designation_pattern="all_unless_excluded", contact_email="")
    assert partner.designation_pattern == "all_unless_excluded"
    entry = dbsession.scalars(select(AuditEntry).where(AuditEntry.action == "partner.update")).one()
    assert entry.detail == {"designation_pattern": "all_unless_excluded"}
    service.retire(admin, partner)
    with pytest.raises(NotAllowed):
        service.update(admin, partner, name="別の名前", kind="npo",
                       designation_pattern="per_project", contact_email="")
    assert partner.name == "中央町自治会"


def test_invited_partner_staff_join_with_their_organisation(service, admin, site, dbsession,
                                                            clock, app_settings):
    partner = register(service, admin, site)
    invitation, token = service.invite(admin, partner, "Yamada@Example.jp")
    assert (invitation.role, invitation.partner_id, invitation.email) == (
        "partner", partner.id, "yamada@example.jp")
    invitations = InvitationService(dbsession, clock=clock, settings=app_settings)
    account, membership = invitations.accept(invitations.find_valid(token),
                                             display_name="山田 一郎",
                                             password="apple orchard in autumn")
    assert (membership.role, membership.partner_id, membership.site_id) == (
        "partner", partner.id, site.id)
    assert actions(dbsession) == ["partner.create", "partner.invite"]


def test_staff_invitations_keep_no_partner(dbsession, site, admin, clock, app_settings):
    invitations = InvitationService(dbsession, clock=clock, settings=app_settings)
    invitation, token = invitations.invite(admin, site, "editor2@example.jp", "editor")
    _account, membership = invitations.accept(invitation, display_name="編集 次郎",
                                              password="apple orchard in autumn")
    assert membership.partner_id is None


def test_invite_refuses_existing_staff_and_retired_partners(service, admin, site, dbsession):
    partner = register(service, admin, site)
    make_staff(dbsession, site, "editor", email="editor@example.jp")
    with pytest.raises(InvalidInput) as refused:
        service.invite(admin, partner, "editor@example.jp")
    assert refused.value.field == "email"
    with pytest.raises(InvalidInput):
        service.invite(admin, partner, "no address")
    service.retire(admin, partner)
    with pytest.raises(NotAllowed):
        service.invite(admin, partner, "new@example.jp")


def test_retire_ends_staff_access_and_open_invitations(service, admin, site, dbsession):
    partner = register(service, admin, site)
    other = make_partner(dbsession, site, "北町NPO", kind="npo")
    make_partner_staff(dbsession, site, partner, "p1@example.jp")
    keeps = make_partner_staff(dbsession, site, other, "p2@example.jp")
    invitation, _token = service.invite(admin, partner, "later@example.jp")
    service.retire(admin, partner)
    assert partner.retired_at is not None
    members = dbsession.scalars(
        select(StaffMembership.account_id).where(StaffMembership.role == "partner")).all()
    assert members == [keeps.id]
    dbsession.refresh(invitation)
    assert invitation.revoked_at is not None
    entry = dbsession.scalars(select(AuditEntry).where(AuditEntry.action == "partner.retire")).one()
    assert entry.detail == {"staff_removed": 1, "invitations_revoked": 1}
    with pytest.raises(NotAllowed):
        service.retire(admin, partner)


def test_lists_current_first_with_staff_counts(service, admin, site, dbsession):
    old = register(service, admin, site, name="あ商工会", kind="chamber_of_commerce")
    current = register(service, admin, site, name="い自治会")
    make_partner_staff(dbsession, site, current, "a@example.jp")
    make_partner_staff(dbsession, site, current, "b@example.jp")
    service.retire(admin, old)
    assert [p.name for p in service.partners(site)] == ["い自治会", "あ商工会"]
    assert [p.name for p in service.partners(site, include_retired=False)] == ["い自治会"]
    assert service.staff_counts(site) == {current.id: 2}
    assert [m.account.email for m in service.staff(current)] == ["a@example.jp", "b@example.jp"]
