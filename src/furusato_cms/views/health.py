"""/healthz for load balancers: 200 when the database answers, 503 when it does not."""
from pyramid.view import view_config
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..permissions import Permissions as P
from ..resources import Root


@view_config(context=Root, name="healthz", renderer="json", permission=P.VIEW)
def healthz(request):
    engine = request.registry["db_engine"]
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        request.response.status_int = 503
        return {"status": "unavailable", "database": "unreachable"}
    return {"status": "ok", "database": "ok"}
