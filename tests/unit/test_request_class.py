"""request_class.bake: requests of one class made at start-up carry every
``add_request_method`` extension, and a finished request is freed by reference counting
(not left in cycles for the collector) once its traversal attributes are forgotten."""
import gc
import weakref

from pyramid.config import Configurator
from pyramid.decorator import reify
from webtest import TestApp

from furusato_cms.request_class import TRAVERSAL_ATTRIBUTES, bake


class Root:
    """A traversal root keeping its request, as the application's resources do."""

    def __init__(self, request):
        self.request = request


def _app(seen: list):
    def page(context, request):
        seen.append(request)
        # A callback added by the view still finds the request whole.
        request.add_finished_callback(
            lambda finished: seen.append(("context at finish", finished.context is context)))
        return {"doubled": request.doubled(21), "answer": request.answer,
                "clock": request.clock, "class": type(request).__name__}

    with Configurator(root_factory=Root) as config:
        config.add_request_method(lambda request, value: value * 2, "doubled")
        config.add_request_method(lambda request: 42, "answer", reify=True)
        config.add_request_method(lambda request: "tick", "clock", property=True)
        config.add_view(page, renderer="json")
    return bake(config.make_wsgi_app())


def test_requests_share_one_class_holding_every_extension():
    seen = []
    app = TestApp(_app(seen))
    first = app.get("/").json
    second = app.get("/").json
    assert first == second == {"doubled": 42, "answer": 42, "clock": "tick",
                               "class": "Request"}
    requests = [item for item in seen if not isinstance(item, tuple)]
    assert type(requests[0]) is type(requests[1])
    assert {"doubled", "answer", "clock"} <= set(vars(type(requests[0])))
    # reify still caches per request, on the instance.
    assert requests[0].__dict__["answer"] == 42


def test_a_finished_request_is_freed_without_the_cyclic_collector():
    seen = []
    app = TestApp(_app(seen))
    app.get("/")
    gc.collect()
    gc.disable()
    try:
        seen.clear()
        app.get("/")
        request = weakref.ref(seen.pop(0))
        assert seen == [("context at finish", True)]
        assert request() is None
    finally:
        gc.enable()


def test_forgetting_traversal_runs_after_callbacks_added_later():
    seen = []
    app = TestApp(_app(seen))
    app.get("/")
    request = seen[0]
    assert seen[1] == ("context at finish", True)
    assert not set(TRAVERSAL_ATTRIBUTES) & set(request.__dict__)
