"""A site's own registration questions (/s/{code}/survey/)."""
from ..models import SurveyQuestion
from .base import SiteItemContainer


class SurveyQuestionResource:
    def __init__(self, parent, question):
        self.__parent__ = parent
        self.__name__ = str(question.id)
        self.question = question
        self.site = parent.site


class SurveyContainer(SiteItemContainer):
    """Inherits the site's ACL; editing needs ``site:survey:manage``."""

    __name__ = "survey"
    model = SurveyQuestion
    item_class = SurveyQuestionResource
