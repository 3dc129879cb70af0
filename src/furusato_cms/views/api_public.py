"""Public reads of the open API (no token): sites, their posts, projects and support
measures — exactly what the public pages show, in the shapes of openapi/openapi.yaml."""
from types import SimpleNamespace

from pyramid.view import view_config

from ..i18n import _
from ..interests import INTERESTS, POST_KIND_LABELS
from ..permissions import Permissions as P
from ..services.activity_search import ActivitySearch
from ..services.directory import SiteDirectory
from ..services.errors import InvalidInput
from ..services.projects import ProjectService
from ..services.publishing import PublicContent
from ..services.support import FAMILY_LABELS, SupportService
from .activities import query_from
from .api import problem
from .api_shapes import label, page_of, public_site, query_of, site_json, url_for, when

DEFAULT_LIMIT = 20


@view_config(route_name="api_sites", request_method="GET", renderer="json", openapi=True,
             replica=True, permission=P.VIEW)
def list_sites(request):
    query = query_of(request)
    found = request.service(SiteDirectory).search_after(
        query.get("q", ""), query.get("prefecture"), cursor=query.get("cursor"),
        limit=query.get("limit", DEFAULT_LIMIT))
    return page_of([site_json(request, site) for site in found.items], found)


@view_config(route_name="api_site", request_method="GET", renderer="json", openapi=True,
             replica=True, permission=P.VIEW)
def get_site(request):
    site = public_site(request)
    intro = request.service(PublicContent).intro(site)
    return {
        **site_json(request, site),
        "introduction": {"title": intro.title if intro else site.name,
                         "body_markdown": intro.body if intro else ""},
        "contact": {"department": site.contact_department, "phone": site.contact_phone,
                    "email": site.contact_email},
    }


@view_config(route_name="api_site_posts", request_method="GET", renderer="json",
             openapi=True, replica=True, permission=P.VIEW)
def list_posts(request):
    site = public_site(request)
    query = query_of(request)
    found = request.service(PublicContent).posts_after(
        site, tag=query.get("tag"), cursor=query.get("cursor"),
        limit=query.get("limit", DEFAULT_LIMIT))
    return page_of([{
        "slug": post.slug, "title": post.title, "summary": post.summary,
        "body_markdown": post.body, "kind": post.kind,
        "kind_label": label(request, POST_KIND_LABELS, post.kind),
        "tags": list(post.tags), "published_at": when(post.publish_at or post.published_at),
        "url": url_for(request, "s", site.code, "posts", post.slug),
    } for post in found.items], found)


def _session_json(session, seats) -> dict:
    return {"id": session.id, "starts_at": when(session.starts_at),
            "ends_at": when(session.ends_at), "place": session.place,
            "cancelled": session.cancelled_at is not None,
            "application_required": session.application_required,
            "capacity": session.capacity, "places_left": seats.left}


@view_config(route_name="api_site_projects", request_method="GET", renderer="json",
             openapi=True, replica=True, permission=P.VIEW)
def list_projects(request):
    site = public_site(request)
    query = query_of(request)
    service = request.service(ProjectService)
    found = service.public_after(site, cursor=query.get("cursor"),
                                 limit=query.get("limit", DEFAULT_LIMIT))
    sessions = service.upcoming_sessions([project.id for project in found.items])
    seats = service.seats([s for listed in sessions.values() for s in listed])
    return page_of([{
        "id": project.id, "title": project.title, "summary": project.summary,
        "body_markdown": project.body, "conditions_markdown": project.conditions,
        "field": project.field, "field_label": label(request, INTERESTS, project.field),
        "organiser": project.partner.name if project.partner else site.name,
        "counts_toward_premium": project.designated,
        "sessions": [_session_json(s, seats[s.id]) for s in sessions[project.id]],
        "url": url_for(request, "s", site.code, "projects", str(project.id)),
    } for project in found.items], found)


@view_config(route_name="api_site_measures", request_method="GET", renderer="json",
             openapi=True, replica=True, permission=P.VIEW)
def list_measures(request):
    site = public_site(request)
    return {"items": [{
        "id": measure.id, "title": measure.title, "summary": measure.summary,
        "body_markdown": measure.body, "family": measure.family,
        "family_label": label(request, FAMILY_LABELS, measure.family),
        "applicants": measure.applicants,
        "rate": {"numerator": measure.rate_numerator, "denominator": measure.rate_denominator},
        "cap_yen": measure.cap_yen, "cap_unit": measure.cap_unit,
        "url": url_for(request, "s", site.code, "support", str(measure.id)),
    } for measure in request.service(SupportService).public_measures(site)]}


@view_config(route_name="api_activities", request_method="GET", renderer="json",
             openapi=True, replica=True, permission=P.VIEW)
def search_activities(request):
    query = query_of(request)
    params = {key: value.isoformat() if hasattr(value, "isoformat") else value
              for key, value in query.items()}
    try:
        found = request.service(ActivitySearch).search(
            query_from(params), cursor=query.get("cursor"),
            limit=query.get("limit", DEFAULT_LIMIT))
    except InvalidInput as error:
        return problem(request, 400, _("The request has values that are not allowed"),
                       error.message, [{"field": error.field,
                                        "message": request.localizer.translate(error.message)}])
    return page_of([{
        "session": _session_json(hit.session, SimpleNamespace(left=hit.places_left)),
        "project_id": hit.project.id, "title": hit.project.title,
        "summary": hit.project.summary, "field": hit.project.field,
        "field_label": label(request, INTERESTS, hit.project.field),
        "counts_toward_premium": hit.project.designated, "online": hit.session.online,
        "site": site_json(request, hit.site),
        "url": url_for(request, "s", hit.site.code, "projects", str(hit.project.id)),
    } for hit in found.items], found)
