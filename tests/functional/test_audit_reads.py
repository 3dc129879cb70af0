"""The audit gaps closed by the hardening work: the attendance list and its registrant
search are logged as reads of personal data, and a signed-in staff member refused
another site's objects leaves a trace with the actor, though the request's own
transaction is rolled back."""
from sqlalchemy import select

from furusato_cms.models import AuditEntry

from ..activity_factories import make_partner
from ..attendance_factories import make_checkin_world, make_registered
from ..conftest import NOW
from ..factories import MATSUMOTO, make_site, make_staff, sign_in


def entries(dbsession, action):
    dbsession.expire_all()
    return dbsession.scalars(select(AuditEntry).where(AuditEntry.action == action)
                             .order_by(AuditEntry.id)).all()


def test_the_attendance_list_and_its_search_are_audited(testapp, dbsession, clock,
                                                         app_settings):
    world = make_checkin_world(dbsession, NOW, partner=make_partner(
        dbsession, make_site(dbsession)))
    hanako = make_registered(dbsession, world.site, "hanako@example.jp", name="山田 花子")
    coordinator = make_staff(dbsession, world.site, "coordinator")
    sign_in(testapp, dbsession, coordinator, clock, app_settings)
    base = f"/s/{world.site.code}/projects/{world.project.id}/sessions/{world.session.id}/"
    testapp.get(base + "attendance")
    [listed] = entries(dbsession, "attendance.list_view")
    assert (listed.actor_id, listed.site_id, listed.target_id) == (
        coordinator.id, world.site.id, str(world.session.id))
    assert entries(dbsession, "attendance.registrant_search") == []
    testapp.get(base + "attendance", {"q": "山田"})
    [searched] = entries(dbsession, "attendance.registrant_search")
    assert searched.actor_id == coordinator.id and searched.detail == {"shown": [hanako.id]}
    assert "山田" not in repr(searched.detail)
    assert len(entries(dbsession, "attendance.list_view")) == 2


def test_refused_attempts_on_another_sites_objects_are_audited_with_the_actor(
        testapp, dbsession, clock, app_settings):
    own, other = make_site(dbsession), make_site(dbsession, MATSUMOTO)
    world = make_checkin_world(dbsession, NOW, code=MATSUMOTO)
    admin = make_staff(dbsession, own, "site_admin")
    sign_in(testapp, dbsession, admin, clock, app_settings)
    testapp.get(f"/s/{other.code}/manage", status=403)
    testapp.get(f"/s/{other.code}/projects/{world.project.id}/sessions/{world.session.id}/"
                "attendance", status=403)
    testapp.get(f"/s/{other.code}/projects/999999/edit", status=404)
    refused = entries(dbsession, "access.refused")
    assert [(e.actor_id, e.site_id, e.detail["status"], e.detail["own_site"])
            for e in refused] == [(admin.id, other.id, 403, False),
                                  (admin.id, other.id, 403, False),
                                  (admin.id, other.id, 404, False)]
    assert refused[0].detail["path"] == f"/s/{other.code}/manage"
    assert refused[0].actor_label == f"{admin.display_name} <{admin.email}>"


def test_refusals_of_people_who_are_not_staff_are_not_logged(testapp, dbsession, clock,
                                                             app_settings):
    site = make_site(dbsession)
    testapp.get(f"/s/{site.code}/projects/999999/edit", status=404)
    person = make_registered(dbsession, site, "person@example.jp")
    sign_in(testapp, dbsession, person, clock, app_settings)
    testapp.get(f"/s/{site.code}/manage", status=403)
    assert entries(dbsession, "access.refused") == []
