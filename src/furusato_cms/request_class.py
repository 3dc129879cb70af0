"""The request class, made once at start-up with every ``add_request_method`` extension,
and requests that let go of their resources when they are finished.

Pyramid attaches those extensions to each request as it arrives: it binds every method to
the instance and makes a new subclass of ``Request`` holding the properties (about 25 µs
a request). Both leave the request in reference cycles (the instance's bound methods point
back at it; a class always is in one), and so does traversal: the root and every resource
keep the request, which keeps them (``root``, ``context``, ``virtual_root``). Each
request, its rendered response and all they reach then waited in memory for Python's
cyclic collector instead of being freed as the response went out (issue 16: the CPU of
the collections and the server's resident memory).

``bake`` makes that subclass once, from the extensions the configuration registered, and
has the router use it as its request factory with nothing left to attach per request.
Requests behave the same: the same properties (``reify`` still caches on the instance)
and the same methods, found on the class instead of the instance. Its requests drop
their traversal attributes after the last finished callback, when nothing reads them.
"""
from pyramid.router import Router

TRAVERSAL_ATTRIBUTES = ("root", "context", "virtual_root")
"""What traversal leaves on a request that points at resources holding the request."""


def forget_traversal(request):
    """A finished callback that stays the last one: one added after it runs first."""
    if request.finished_callbacks:
        request.finished_callbacks.append(forget_traversal)
        return
    attributes = request.__dict__
    for name in TRAVERSAL_ATTRIBUTES:
        attributes.pop(name, None)


def baked_request_class(base: type, extensions) -> type:
    """``base`` with the extensions' methods and properties as class attributes, whose
    instances forget their traversal once finished."""
    def __init__(self, environ, *args, **kwargs):
        base.__init__(self, environ, *args, **kwargs)
        self.add_finished_callback(forget_traversal)

    attrs = {**extensions.methods, **extensions.descriptors, "__init__": __init__}
    attrs.setdefault("__module__", base.__module__)
    return type(base.__name__, (base,), attrs)


def bake(router: Router) -> Router:
    """Have ``router`` make requests of one subclass already holding the extensions."""
    extensions = router.request_extensions
    if extensions is not None:
        router.request_factory = baked_request_class(router.request_factory, extensions)
        router.request_extensions = None
    return router
