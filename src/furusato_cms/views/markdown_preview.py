"""The live preview of the formatting toolbar (static/markdown-editor.js): the Markdown
typed so far, rendered by the same ``render_markdown`` as the public pages, so the
preview shows exactly what visitors will see. A POST (it carries the CSRF token),
allowed to whoever may edit in that area."""
from pyramid.httpexceptions import HTTPBadRequest
from pyramid.response import Response
from pyramid.view import view_config

from ..i18n import _
from ..markup import render_markdown
from ..permissions import Permissions as P
from ..resources.activities import ProjectsContainer
from ..resources.content import PostsContainer
from ..resources.support import SupportContainer
from ..services.publishing import BODY_MAX


@view_config(context=PostsContainer, name="markdown-preview", request_method="POST",
             permission=P.CONTENT_EDIT)
@view_config(context=ProjectsContainer, name="markdown-preview", request_method="POST",
             permission=P.PROJECT_CREATE)
@view_config(context=SupportContainer, name="markdown-preview", request_method="POST",
             permission=P.SUPPORT_EDIT)
def markdown_preview(request):
    source = request.POST.get("body", "")
    if len(source) > BODY_MAX:
        raise HTTPBadRequest(_("At most ${max} characters.", mapping={"max": BODY_MAX}))
    response = Response(str(render_markdown(source)), content_type="text/html",
                        charset="utf-8")
    response.cache_control = "no-store"
    return response
