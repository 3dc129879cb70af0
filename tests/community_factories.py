"""Test data for consultations, monitor surveys and the community room."""
from furusato_cms.models import (
    Consultation,
    ConsultationMessage,
    MonitorQuestion,
    MonitorSurvey,
    Registration,
    RoomPost,
    RoomThread,
)
from furusato_cms.services.audit import Actor

from .factories import T0
from .registrant_factories import make_registrant

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
EXE = b"MZ\x90\x00" + b"\x00" * 60


def actor_for(account) -> Actor:
    return Actor(account_id=account.id, label=account.email, client_addr="127.0.0.1")


def make_member(dbsession, site, email, *, tier="basic", relationship_types=(1,), name="住民 太郎",
                state="active", **kw):
    """A registrant account with a registration with ``site``."""
    account = make_registrant(dbsession, email, name=name, **kw)
    dbsession.add(Registration(account_id=account.id, site_id=site.id, tier=tier, state=state,
                               relationship_types=list(relationship_types), registered_at=T0,
                               state_changed_at=T0))
    dbsession.flush()
    return account


def make_consultation(dbsession, site, registrant, *, subject="りんご農家の手伝いについて",
                      body="はじめまして。質問があります。", state="new", assigned_to=None,
                      topic="project_details", at=T0):
    consultation = Consultation(
        site_id=site.id, registrant_id=registrant.id, topic=topic, subject=subject,
        state=state, assigned_to_id=assigned_to.id if assigned_to else None, created_at=at,
        updated_at=at, closed_at=at if state == "closed" else None,
    )
    consultation.messages.append(ConsultationMessage(author_id=registrant.id, body=body,
                                                     created_at=at))
    dbsession.add(consultation)
    dbsession.flush()
    return consultation


def make_monitor_survey(dbsession, site, *, title="暮らしについてのアンケート", state="open",
                        questions=(("single", "満足していますか", ["はい", "いいえ"]),),
                        **kw):
    """A survey with questions given as (kind, label, choice labels) triples; choice keys
    are c1, c2, …; scale questions run 1–5."""
    survey = MonitorSurvey(site_id=site.id, title=title, description=kw.pop("description", ""),
                           state=state, created_at=T0,
                           opened_at=T0 if state != "draft" else None, **kw)
    for position, (kind, label, choices) in enumerate(questions):
        survey.questions.append(MonitorQuestion(
            position=position, kind=kind, label=label, created_at=T0,
            choices=[{"key": f"c{n}", "label": text} for n, text in enumerate(choices, 1)],
        ))
    dbsession.add(survey)
    dbsession.flush()
    return survey


def open_room(dbsession, site):
    site.community_room_enabled = True
    dbsession.flush()
    return site


def make_thread(dbsession, site, author, *, title="はじめまして", body="よろしくお願いします。",
                at=T0, from_staff=False):
    thread = RoomThread(site_id=site.id, title=title, author_id=author.id, created_at=at,
                        last_post_at=at, hidden_reason="")
    dbsession.add(thread)
    dbsession.flush()
    post = RoomPost(thread_id=thread.id, author_id=author.id, body=body, created_at=at,
                    hidden_reason="", from_staff=from_staff)
    dbsession.add(post)
    dbsession.flush()
    return thread, post
