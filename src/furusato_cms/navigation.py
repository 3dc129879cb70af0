"""Where a page sits, for its layout: who the page is for (public, registrant's own pages,
staff) and its breadcrumbs (パンくずリスト) inside a site.

Who a page is for is read from the permission its view was registered with, so a new view
is classified without a list of paths to keep up to date: the 「自治体の方へ」 footer is for
public pages only, and a staff page's breadcrumbs go through the staff screens."""
from .i18n import _
from .permissions import Permissions as P
from .resources.activities import ProjectResource, ProjectsContainer
from .resources.content import PostResource, PostsContainer
from .resources.site import (
    COORDINATOR_PERMISSIONS, EDITOR_PERMISSIONS, REVIEWER_PERMISSIONS, SITE_ADMIN_PERMISSIONS,
    SiteResource,
)
from .resources.support import MeasureResource, SupportContainer

STAFF_PERMISSIONS = frozenset(
    SITE_ADMIN_PERMISSIONS + EDITOR_PERMISSIONS + REVIEWER_PERMISSIONS + COORDINATOR_PERMISSIONS
    + (P.OPERATOR_VIEW, P.OPERATOR_DECIDE, P.OPERATOR_SETTINGS)
)
OWN_PAGE_PREFIXES = ("registrant:", "account:")
REMEMBERED_METHODS = frozenset({"GET", "HEAD", "POST"})
REMEMBERED_AT_MOST = 2048
"""View names come from the path a client sends: past this many, answers are looked up
each time rather than kept, so made-up paths cannot grow the process."""

SECTIONS = {
    PostsContainer: _("News and information"),
    ProjectsContainer: _("Activities"),
    SupportContainer: _("Support measures"),
}
"""The public sections of a site, with their index pages (the site menu's entries)."""

ITEMS = {PostResource: "post", ProjectResource: "project", MeasureResource: "measure"}
"""Public items that have a page of their own, and the attribute holding their row."""


def _view_permissions(registry) -> dict:
    """(route name, view name) → [(context class, request methods, permission)], read once
    from Pyramid's introspector after the configuration is committed."""
    index = registry.get("furusato.view_permissions")
    if index is None:
        index = {}
        introspector = registry.introspector
        for view in introspector.get_category("views"):
            intr = view["introspectable"]
            permissions = [p["value"] for p in introspector.related(intr)
                           if p.category_name == "permissions"]
            key = (intr["route_name"], intr["name"] or "")
            index.setdefault(key, []).append(
                (intr["context"], intr["request_methods"], permissions[0] if permissions else None)
            )
        registry["furusato.view_permissions"] = index
    return index


def view_permission(request):
    """The permission of the view that answered this request (None: no permission),
    remembered per route, view name, context class and usual method: the traversal
    views without a name are one list of some hundred, scanned on every page before.
    (Any other method a client sends is looked up each time, not remembered.)"""
    route = getattr(request, "matched_route", None)
    key = (route.name if route is not None else None, getattr(request, "view_name", "") or "",
           type(getattr(request, "context", None)), request.method)
    if key[3] not in REMEMBERED_METHODS:
        return _find_view_permission(request.registry, *key)
    known = request.registry.get("furusato.view_permission_of")
    if known is None:
        known = request.registry["furusato.view_permission_of"] = {}
    if key in known:
        return known[key]
    permission = _find_view_permission(request.registry, *key)
    if len(known) < REMEMBERED_AT_MOST:
        known[key] = permission
    return permission


def _find_view_permission(registry, route_name, view_name, context_class, method):
    for context, methods, permission in _view_permissions(registry).get((route_name, view_name),
                                                                        ()):
        if context is not None and not (isinstance(context, type)
                                        and issubclass(context_class, context)):
            continue
        if methods and method not in (methods if isinstance(methods, (tuple, list, set))
                                      else (methods,)):
            continue
        return permission
    return None


def page_audience(request) -> str:
    """"staff", "own" (a registrant's or an account's own pages) or "public"."""
    if getattr(request, "exception", None) is not None:
        return "public"
    permission = view_permission(request)
    if permission in STAFF_PERMISSIONS:
        return "staff"
    if permission and str(permission).startswith(OWN_PAGE_PREFIXES):
        return "own"
    return "public"


def _lineage_below(context, stop_class):
    """The resources from just below the ``stop_class`` ancestor down to ``context``."""
    chain = []
    while context is not None and not isinstance(context, stop_class):
        chain.append(context)
        context = getattr(context, "__parent__", None)
    return list(reversed(chain)) if context is not None else []


def breadcrumbs(request, site_resource, audience: str) -> list:
    """The links above the current page: (label, url) pairs, the site's top first. The
    current page itself is not in the list (the template adds it, unlinked, with
    ``aria-current``)."""
    if site_resource is None:
        return []
    site = site_resource.site
    context = request.context
    view_name = getattr(request, "view_name", "") or ""
    site_url = f"{request.application_url}/s/{site.code}/"
    if context is site_resource and not view_name:
        return []
    crumbs = [(site.name, site_url)]
    if audience == "staff":
        if not (context is site_resource and view_name == "manage"):
            crumbs.append((_("Staff screens"), site_url + "manage"))
        return crumbs
    for resource in _lineage_below(context, SiteResource):
        is_page = resource is context and not view_name
        if is_page:
            break
        label = SECTIONS.get(type(resource))
        if label is None and type(resource) in ITEMS:
            row = getattr(resource, ITEMS[type(resource)], None)
            label = getattr(row, "title", None)
        if label:
            crumbs.append((label, request.resource_url(resource)))
    return crumbs
