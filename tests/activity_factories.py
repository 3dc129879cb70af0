"""Test data for contributor activities: partners, projects, sessions, attendance."""
from datetime import timedelta

from furusato_cms.models import ActivitySession, Attendance, PartnerOrganisation, Project

from .factories import T0


def make_partner(dbsession, site, name="中央町自治会", *, kind="neighbourhood_association",
                 pattern="per_project"):
    partner = PartnerOrganisation(site_id=site.id, name=name, kind=kind,
                                  designation_pattern=pattern, created_at=T0)
    dbsession.add(partner)
    dbsession.flush()
    return partner


def make_project(dbsession, site, title="りんご収穫の手伝い", *, state="published", partner=None,
                 designated=True, field="agriculture", **kw):
    project = Project(
        site_id=site.id, slug=kw.pop("slug", None) or f"project-{title}-{site.id}", title=title,
        body=kw.pop("body", "畑で収穫を手伝います。"), state=state, field=field,
        partner_id=partner.id if partner else None, designated=designated,
        created_at=T0, updated_at=T0, published_at=T0 if state == "published" else None, **kw,
    )
    dbsession.add(project)
    dbsession.flush()
    return project


def make_session(dbsession, project, starts_at, *, hours=3, capacity=None,
                 application_required=False, place="公民館"):
    session = ActivitySession(
        project_id=project.id, site_id=project.site_id, starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours), place=place, capacity=capacity,
        application_required=application_required, created_at=T0,
    )
    dbsession.add(session)
    dbsession.flush()
    return session


def make_attendance(dbsession, session, account, *, source="staff", voided=False,
                    designated=None):
    """``designated``: as stored on the row; by default the project's flag now, as every
    writer of the app records it."""
    if designated is None:
        designated = dbsession.get(Project, session.project_id).designated
    attendance = Attendance(
        session_id=session.id, account_id=account.id, site_id=session.site_id,
        attended_at=session.starts_at, recorded_at=session.starts_at, source=source,
        designated=designated,
        voided_at=session.starts_at if voided else None, void_reason="誤登録" if voided else "",
    )
    dbsession.add(attendance)
    dbsession.flush()
    return attendance
