"""/healthz for load balancers: 200 when the database answers, 503 (with Retry-After) when
it does not — down, unreachable, or no pooled connection free within the pool time-out."""
from pyramid.view import view_config
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..permissions import Permissions as P
from ..resources import Root
from ..tweens import RETRY_AFTER_SECONDS


@view_config(context=Root, name="healthz", renderer="json", permission=P.VIEW)
def healthz(request):
    engine = request.registry["db_engine"]
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        request.response.status_int = 503
        request.response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return {"status": "unavailable", "database": "unreachable"}
    return {"status": "ok", "database": "ok"}
