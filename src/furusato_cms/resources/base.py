"""Building blocks shared by the resources under a site."""
from sqlalchemy import select


def is_number(name: str) -> bool:
    """ASCII digits only ("²" is a digit to ``str.isdigit`` but not to ``int``)."""
    return name.isascii() and name.isdigit() and len(name) <= 9


class SiteChild:
    """A resource directly under a site; it inherits the site's ACL."""

    def __init__(self, parent, request):
        self.__parent__ = parent
        self.request = request
        self.site = parent.site


class SiteItemContainer(SiteChild):
    """A container whose items are rows of ``model`` of this site, addressed by id."""

    model = None
    item_class = None

    def __getitem__(self, name):
        if not is_number(name):
            raise KeyError(name)
        row = self.request.dbsession.scalar(
            select(self.model).where(self.model.id == int(name), self.model.site_id == self.site.id)
        )
        if row is None:
            raise KeyError(name)
        return self.item_class(self, row)
