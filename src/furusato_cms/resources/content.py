"""Content under a site: the introduction page, posts and images."""
from pyramid.authorization import Allow, Deny, Everyone
from sqlalchemy import select

from ..models import Image, IntroPage, Post
from ..permissions import Permissions as P

RESERVED_SLUGS = frozenset({"new", "manage", "edit", "versions", "transition", "intro"})


class _SiteChild:
    def __init__(self, parent, request):
        self.__parent__ = parent
        self.request = request
        self.site = parent.site


class IntroResource(_SiteChild):
    """The introduction page; public whenever its site is (it inherits the site's ACL)."""

    __name__ = "intro"

    @property
    def page(self):
        return self.request.dbsession.scalar(
            select(IntroPage).where(IntroPage.site_id == self.site.id)
        )


class PostsContainer(_SiteChild):
    __name__ = "posts"

    def __getitem__(self, slug):
        post = self.request.dbsession.scalar(
            select(Post).where(Post.site_id == self.site.id, Post.slug == slug)
        )
        if post is None:
            raise KeyError(slug)
        return PostResource(self, post, self.request)


class PostResource:
    """A post. Public only while published, inside its dates, on an active site;
    otherwise only the site's staff (through the site's ACL) can see it."""

    def __init__(self, parent, post, request):
        self.__parent__ = parent
        self.__name__ = post.slug
        self.post = post
        self.site = parent.site
        self.request = request

    @property
    def __acl__(self):
        if self.site.state == "active" and self.post.is_visible_at(self.request.clock()):
            return [(Allow, Everyone, P.VIEW)]
        return [(Deny, Everyone, P.VIEW)]


class ImagesContainer(_SiteChild):
    __name__ = "images"

    def __getitem__(self, name):
        image_id = name.split(".", 1)[0]
        if not image_id.isdigit():
            raise KeyError(name)
        image = self.request.dbsession.scalar(
            select(Image).where(Image.id == int(image_id), Image.site_id == self.site.id)
        )
        if image is None:
            raise KeyError(name)
        return ImageResource(self, image)


class ImageResource:
    def __init__(self, parent, image):
        self.__parent__ = parent
        self.__name__ = str(image.id)
        self.image = image
        self.site = parent.site
