"""What visitors see: a site's page, its posts and images (the top page with the directory
is views/top_page.py)."""
from pyramid.httpexceptions import HTTPBadRequest
from pyramid.response import Response
from pyramid.view import view_config

from ..i18n import _
from ..interests import INTERESTS, POST_KIND_LABELS
from ..permissions import Permissions as P
from ..public_cache import cache_publicly, may_keep
from ..resources.content import ImageResource, PostResource, PostsContainer
from ..resources.site import SiteResource, front_page_reads
from ..services.publishing import PublicContent


def page_param(request) -> int:
    raw = request.GET.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= 10000:
        raise HTTPBadRequest(_("The page number must be a whole number from 1."))
    return int(raw)


def tag_param(request):
    tag = request.GET.get("tag") or None
    if tag is not None and tag not in INTERESTS:
        raise HTTPBadRequest(_("Unknown tag. Choose one of the tags shown on the page."))
    return tag


def _cache_until_next_change(request, site):
    """The query for the next scheduled change runs only for a page that may be kept."""
    if may_keep(request):
        cache_publicly(request, request.service(PublicContent).next_change(site))


def _posts_shown(request, site, posts, tag):
    """What a page listing posts gives its template (and its cache time)."""
    _cache_until_next_change(request, site)
    return {"posts": posts, "tag": tag, "interests": INTERESTS, "kinds": POST_KIND_LABELS}


def _post_listing(request, site):
    tag = tag_param(request)
    posts = request.service(PublicContent).posts(site, tag=tag, page=page_param(request))
    return _posts_shown(request, site, posts, tag)


@view_config(context=SiteResource, renderer="public/site.jinja2", permission=P.VIEW,
             replica=True)
def site_home(context, request):
    """The site's page: its header photo, introduction, the activities with the soonest
    sessions, its support measures and its news, read together (with the site itself
    when traversal could: resources/site.py)."""
    site = context.site
    tag = tag_param(request)
    front, projects, measures, posts = context.front_page or request.read_together(
        *front_page_reads(request, site, tag=tag, page=page_param(request)))
    return {"front": front, "featured_projects": projects, "measures": measures,
            **_posts_shown(request, site, posts, tag)}


@view_config(context=PostsContainer, renderer="public/posts.jinja2", permission=P.VIEW,
             replica=True)
def post_list(context, request):
    return _post_listing(request, context.site)


@view_config(context=PostResource, renderer="public/post.jinja2", permission=P.VIEW,
             replica=True)
def post_view(context, request):
    _cache_until_next_change(request, context.site)
    tags, body_html = request.service(PublicContent).post_extras(context.post)
    return {
        "post": context.post,
        "tags": tags,
        "body_html": body_html,
        "interests": INTERESTS,
        "kinds": POST_KIND_LABELS,
    }


@view_config(context=ImageResource, permission=P.VIEW)
def image_view(context, request):
    image = context.image
    response = Response(body=image.data, content_type=image.media_type)
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    response.etag = image.sha256
    return response
