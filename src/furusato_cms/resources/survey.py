"""A site's own registration questions (/s/{code}/survey/)."""
from sqlalchemy import select

from ..models import SurveyQuestion


class SurveyContainer:
    """Inherits the site's ACL; editing needs ``site:survey:manage``."""

    __name__ = "survey"

    def __init__(self, parent, request):
        self.__parent__ = parent
        self.request = request
        self.site = parent.site

    def __getitem__(self, name):
        if not name.isdigit():
            raise KeyError(name)
        question = self.request.dbsession.scalar(
            select(SurveyQuestion).where(
                SurveyQuestion.id == int(name), SurveyQuestion.site_id == self.site.id
            )
        )
        if question is None:
            raise KeyError(name)
        return SurveyQuestionResource(self, question)


class SurveyQuestionResource:
    def __init__(self, parent, question):
        self.__parent__ = parent
        self.__name__ = str(question.id)
        self.question = question
        self.site = parent.site
