"""/s/{code}/premium/: the coordinators' review of premium registration (プレミアム登録の審査)
— applications and renewals (``applications/{id}``), stay declarations
(``declarations/{id}``) and the site's stay points (``stay-points/{id}``). Everything
inherits the site's ACL: ``site:premium:review`` for the site admin and coordinators."""
from ..models import PremiumApplication, StayDeclaration, StayPoint
from .base import SiteChild, SiteItemContainer


class _Item:
    def __init__(self, parent, row):
        self.__parent__ = parent
        self.__name__ = str(row.id)
        self.site = parent.site


class ApplicationResource(_Item):
    def __init__(self, parent, application):
        super().__init__(parent, application)
        self.application = application


class DeclarationResource(_Item):
    def __init__(self, parent, declaration):
        super().__init__(parent, declaration)
        self.declaration = declaration


class StayPointResource(_Item):
    def __init__(self, parent, point):
        super().__init__(parent, point)
        self.point = point


class ApplicationsContainer(SiteItemContainer):
    __name__ = "applications"
    model = PremiumApplication
    item_class = ApplicationResource


class DeclarationsContainer(SiteItemContainer):
    __name__ = "declarations"
    model = StayDeclaration
    item_class = DeclarationResource


class StayPointsContainer(SiteItemContainer):
    __name__ = "stay-points"
    model = StayPoint
    item_class = StayPointResource


class PremiumArea(SiteChild):
    """The review queue itself (the view on this resource)."""

    __name__ = "premium"
    children = {
        "applications": ApplicationsContainer,
        "declarations": DeclarationsContainer,
        "stay-points": StayPointsContainer,
    }

    def __getitem__(self, name):
        if name not in self.children:
            raise KeyError(name)
        return self.children[name](self, self.request)
