"""Content under a site: the introduction page, posts, their saved versions, and images.

Staff screens are view names on these resources (``intro/edit``,
``posts/manage``, ``posts/new``, ``posts/{slug}/edit`` ...); the permissions come
from the site's ACL, which every resource here inherits. A post adds only its own
public visibility on top.
"""
from pyramid.authorization import Allow, Deny, Everyone
from sqlalchemy import select

from ..models import GENERIC_PLAN, ContentVersion, Image, IntroPage, Post
from ..permissions import Permissions as P
from .base import SiteChild, is_number





class IntroResource(SiteChild):
    """The introduction page; public whenever its site is (it inherits the site's ACL)."""

    __name__ = "intro"

    @property
    def page(self):
        return self.request.dbsession.scalar(
            select(IntroPage).where(IntroPage.site_id == self.site.id)
        )

    @property
    def item(self):
        return self.page

    def __getitem__(self, name):
        if name == "versions":
            return VersionsResource(self, self.request)
        raise KeyError(name)


class PostsContainer(SiteChild):
    __name__ = "posts"

    def __getitem__(self, slug):
        post = self.request.dbsession.scalar(
            select(Post).where(Post.site_id == self.site.id, Post.slug == slug)
            .execution_options(**GENERIC_PLAN)
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
    def item(self):
        return self.post

    @property
    def __acl__(self):
        if self.site.is_public and self.post.is_visible_at(self.request.clock()):
            return [(Allow, Everyone, P.VIEW)]
        return [(Deny, Everyone, P.VIEW)]

    def __getitem__(self, name):
        if name == "versions":
            return VersionsResource(self, self.request)
        raise KeyError(name)


class VersionsResource:
    """``…/versions``: the saved versions of the parent's item (staff only through views)."""

    __name__ = "versions"

    def __init__(self, parent, request):
        self.__parent__ = parent
        self.request = request
        self.site = parent.site
        self.item = parent.item

    def __getitem__(self, name):
        if not is_number(name):
            raise KeyError(name)
        version = self.request.dbsession.scalar(
            select(ContentVersion).where(
                ContentVersion.content_id == self.item.id, ContentVersion.number == int(name)
            )
        )
        if version is None:
            raise KeyError(name)
        return VersionResource(self, version)


class VersionResource:
    def __init__(self, parent, version):
        self.__parent__ = parent
        self.__name__ = str(version.number)
        self.version = version
        self.item = parent.item
        self.site = parent.site


class ImagesContainer(SiteChild):
    """``/s/{code}/images/{key}``: an image by its random key only (a sequential id would let
    anyone list the images of drafts); an optional file suffix (``{key}.jpg``) is ignored."""

    __name__ = "images"

    def __getitem__(self, name):
        key = name.split(".", 1)[0]
        if not 16 <= len(key) <= 32:
            raise KeyError(name)
        image = self.request.dbsession.scalar(
            select(Image).where(Image.public_key == key, Image.site_id == self.site.id)
        )
        if image is None:
            raise KeyError(name)
        return ImageResource(self, image)


class ImageResource:
    def __init__(self, parent, image):
        self.__parent__ = parent
        self.__name__ = image.public_key
        self.image = image
        self.site = parent.site
