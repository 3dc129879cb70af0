"""The public national dashboard (/stats/, 関係人口の可視化): anyone may read it and its
open data; nothing else is allowed here."""
import re

from pyramid.authorization import DENY_ALL, Allow, Everyone

from ..permissions import Permissions as P

TABLE_FILE = re.compile(r"^([a-z_]{1,40})\.csv$")


class NationalDashboard:
    __name__ = "stats"

    def __init__(self, parent, request):
        self.__parent__ = parent
        self.request = request

    __acl__ = [(Allow, Everyone, P.VIEW), DENY_ALL]

    def __getitem__(self, name):
        match = TABLE_FILE.match(name)
        if match is None:
            raise KeyError(name)
        return OpenDataTable(self, match.group(1))


class OpenDataTable:
    """One table of the dashboard as a CSV file (/stats/<table>.csv); the view answers
    404 for a name that is no table. Inherits the dashboard's ACL."""

    def __init__(self, parent, table_name):
        self.__parent__ = parent
        self.__name__ = f"{table_name}.csv"
        self.table_name = table_name
