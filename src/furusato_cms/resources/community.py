"""Engagement under a site: consultations (/s/{code}/consultations/{id}), monitor surveys
(/s/{code}/surveys/{id}/questions/{id}) and the community room (/s/{code}/room/{thread},
/s/{code}/room/posts/{post}).

Staff rights come from the site's ACL (``site:consultations:handle``,
``site:monitor_surveys:manage``, ``site:room:moderate``); these containers add what
registrants may do, and only while the site (and, for the room, the room) is open.
Whether a registrant is in a survey's target group or registered with the site is a
rule of the services, which say why when they refuse.
"""
from pyramid.authorization import Allow
from sqlalchemy import select

from ..models import MonitorQuestion, MonitorSurvey, RoomPost, RoomThread
from ..permissions import Permissions as P
from ..security import site_principal
from .base import SiteChild, SiteItemContainer, is_number

ROOM_STAFF_ROLES = ("site_admin", "editor", "coordinator")
"""Staff who take part in the room as the site (moderating needs ``site:room:moderate``)."""


class ConsultationResource:
    """One consultation, by id only: the view loads it through the service, which writes
    every staff read to the audit log."""

    def __init__(self, parent, consultation_id):
        self.__parent__ = parent
        self.__name__ = str(consultation_id)
        self.consultation_id = consultation_id
        self.site = parent.site


class ConsultationsContainer(SiteChild):
    """相談: the site's queue, for coordinators and site admins."""

    __name__ = "consultations"

    def __getitem__(self, name):
        if not is_number(name):
            raise KeyError(name)
        return ConsultationResource(self, int(name))


class MonitorQuestionResource:
    def __init__(self, parent, question):
        self.__parent__ = parent
        self.__name__ = str(question.id)
        self.question = question
        self.survey = parent.survey
        self.site = parent.site


class MonitorQuestionsContainer:
    __name__ = "questions"

    def __init__(self, parent, request):
        self.__parent__ = parent
        self.request = request
        self.survey = parent.survey
        self.site = parent.site

    def __getitem__(self, name):
        if not is_number(name):
            raise KeyError(name)
        question = self.request.dbsession.scalar(
            select(MonitorQuestion).where(MonitorQuestion.id == int(name),
                                          MonitorQuestion.survey_id == self.survey.id)
        )
        if question is None:
            raise KeyError(name)
        return MonitorQuestionResource(self, question)


class MonitorSurveyResource:
    def __init__(self, parent, survey):
        self.__parent__ = parent
        self.__name__ = str(survey.id)
        self.survey = survey
        self.site = parent.site
        self.request = parent.request

    def __getitem__(self, name):
        if name == "questions":
            return MonitorQuestionsContainer(self, self.request)
        raise KeyError(name)


class MonitorSurveysContainer(SiteItemContainer):
    """モニターアンケート: built by editors; answered by registrants while the site is active."""

    __name__ = "surveys"
    model = MonitorSurvey
    item_class = MonitorSurveyResource

    @property
    def __acl__(self):
        if not self.site.is_public:
            return []
        return [(Allow, "kind:registrant", P.MONITOR_SURVEY_ANSWER)]


class RoomThreadResource:
    def __init__(self, parent, thread):
        self.__parent__ = parent
        self.__name__ = str(thread.id)
        self.thread = thread
        self.site = parent.site


class RoomPostResource:
    def __init__(self, parent, post):
        self.__parent__ = parent
        self.__name__ = str(post.id)
        self.post = post
        self.site = parent.site


class RoomPostsContainer(SiteChild):
    """Posts by id, for reporting and moderating (/s/{code}/room/posts/{id}/report)."""

    __name__ = "posts"

    def __getitem__(self, name):
        if not is_number(name):
            raise KeyError(name)
        post = self.request.dbsession.scalar(
            select(RoomPost).join(RoomThread, RoomThread.id == RoomPost.thread_id)
            .where(RoomPost.id == int(name), RoomThread.site_id == self.site.id)
        )
        if post is None:
            raise KeyError(name)
        return RoomPostResource(self, post)


class RoomContainer(SiteChild):
    """オンラインコミュニティルーム: open to take part in only while the site is active and
    has switched its room on; moderators keep their screens when it is off."""

    __name__ = "room"

    @property
    def __acl__(self):
        site = self.site
        if not site.is_public or not site.community_room_enabled:
            return []
        return [(Allow, "kind:registrant", P.ROOM_PARTICIPATE)] + [
            (Allow, site_principal(site.id, role), P.ROOM_PARTICIPATE)
            for role in ROOM_STAFF_ROLES
        ]

    def __getitem__(self, name):
        if name == "posts":
            return RoomPostsContainer(self, self.request)
        if not is_number(name):
            raise KeyError(name)
        thread = self.request.dbsession.scalar(
            select(RoomThread).where(RoomThread.id == int(name), RoomThread.site_id == self.site.id)
        )
        if thread is None:
            raise KeyError(name)
        return RoomThreadResource(self, thread)
