"""Schema-driven fuzzing of the open API (schemathesis): every operation, with values the
document allows and values it does not, answers without a server error and with a
response that matches the document. A small budget keeps `make test` fast; raise
FURUSATO_FUZZ_EXAMPLES for a longer run."""
import os
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import select

from furusato_cms.models import Site

from ..activity_factories import make_project, make_session
from ..attendance_factories import make_registered
from ..conftest import NOW
from ..factories import NAGANO_CITY, make_post, make_site
from ..oauth_factories import bearer, make_client, make_token
from ..support_factories import make_measure

EXAMPLES = int(os.environ.get("FURUSATO_FUZZ_EXAMPLES", "10"))


@pytest.fixture
def api_schema(app, connection, clock, dbsession):
    """The document as the app serves it, calls joined to the test's transaction, with a
    site that has something to show."""
    site = make_site(dbsession, NAGANO_CITY)
    make_post(dbsession, site, "news")
    make_session(dbsession, make_project(dbsession, site), NOW + timedelta(days=2), capacity=3)
    make_measure(dbsession, site)

    def joined(environ, start_response):
        environ.update({"furusato.db_connection": connection, "furusato.clock": clock,
                        "HTTP_HOST": "localhost"})
        return app(environ, start_response)

    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", joined)


def _fuzz(operation, excluded, headers=None, code=None) -> set:
    """The statuses the operation answered; ``code`` pins the site in the path."""
    statuses = set()

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def fuzz(case):
        if code and case.path_parameters and "code" in case.path_parameters:
            case.path_parameters["code"] = code
        statuses.add(case.call_and_validate(headers=headers,
                                            excluded_checks=excluded).status_code)

    fuzz()
    return statuses


def test_no_operation_fails_or_breaks_its_document(api_schema):
    """Each operation in turn (schemathesis' pytest plugin does not run on pytest 9)."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 5
    for operation in operations:
        # A cursor is opaque: its pattern cannot say which strings this service made, so
        # a well-formed stranger is refused (400), as it should be.
        _fuzz(operation, [positive_data_acceptance] if _has_cursor(operation) else [])


def test_no_authorised_operation_fails_with_a_valid_token(api_schema, dbsession):
    """Every operation that needs a token, called with one holding every scope it may
    need: a person's app's for /me…, the site's own server's for /sites/{code}/… —
    whatever operations the document gains later. Valid-looking ids the rules refuse
    (4xx) are right answers here; a 5xx or an answer outside the document is not."""
    site = dbsession.scalar(select(Site).where(Site.code == NAGANO_CITY))
    person = make_registered(dbsession, site, "fuzz@example.jp")
    person_token = bearer(make_token(dbsession, make_client(dbsession), person))
    server_token = bearer(make_token(dbsession, make_client(dbsession, site,
                                                            kind="confidential")))
    authorised = [result.ok() for result in api_schema.get_all_operations()
                  if result.ok().definition.raw.get("security")]
    assert len(authorised) >= 8
    answered = {}
    for operation in authorised:
        token = person_token if operation.path.startswith("/me") else server_token
        answered[operation.label] = _fuzz(operation, [positive_data_acceptance], token,
                                          NAGANO_CITY)
    reads = [label for label in answered if label.startswith("GET")]
    assert all(200 in answered[label] for label in reads), answered


def _has_cursor(operation) -> bool:
    return any(p.get("$ref", "").endswith("/cursor") or p.get("name") == "cursor"
               for p in operation.definition.raw.get("parameters", ()))
