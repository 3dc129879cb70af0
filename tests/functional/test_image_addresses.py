"""Images are addressed by an unguessable key: an image uploaded for a draft cannot be
found by counting ids, a published text's images are served, and migration 0016 moved the
existing texts' references from ids to keys (and back on downgrade)."""
import re

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import select
from sqlalchemy.orm import Session

from furusato_cms.clock import FixedClock
from furusato_cms.models import Image, Post, get_engine
from furusato_cms.services.images import ImageService, markdown_snippet

from ..conftest import NOW
from ..content_factories import actor_for, image_bytes
from ..dbsetup import drop_database, fresh_database_url, migrate
from ..factories import NAGANO_CITY, make_post, make_site, make_staff
from ..faults.checks import assert_security_headers
from ..faults.support import app_for, client

BEFORE = "0015_premium_auto_default"
AFTER = "0016_hardening_input"


def upload(dbsession, site, app_settings, alt):
    editor = make_staff(dbsession, site, "editor", email=f"{alt}@example.jp")
    return ImageService(dbsession, clock=FixedClock(NOW), settings=app_settings).upload(
        actor_for(editor), site, "a.png", image_bytes(), alt)


def test_a_draft_only_image_is_not_found_by_its_id(testapp, dbsession, app_settings):
    site = make_site(dbsession, NAGANO_CITY)
    image = upload(dbsession, site, app_settings, "draft")
    make_post(dbsession, site, "soon", state="draft", body=markdown_snippet(site.code, image))
    for name in (str(image.id), f"{image.id}.png", str(image.id - 1), str(image.id + 1)):
        assert_security_headers(testapp.get(f"/s/{NAGANO_CITY}/images/{name}", status=404))
    assert len(image.public_key) >= 22 and str(image.id) != image.public_key


def test_a_published_texts_image_is_served(testapp, dbsession, app_settings):
    site = make_site(dbsession, NAGANO_CITY)
    image = upload(dbsession, site, app_settings, "published")
    make_post(dbsession, site, "open", body="写真\n\n" + markdown_snippet(site.code, image))
    page = testapp.get(f"/s/{NAGANO_CITY}/posts/open")
    source = re.search(r'<img src="([^"]+)"', page.text).group(1)
    assert source == f"/s/{NAGANO_CITY}/images/{image.public_key}"
    served = testapp.get(source)
    assert served.content_type == "image/png" and served.body == image.data


def test_keys_are_random_per_image_and_per_site(testapp, dbsession, app_settings):
    site = make_site(dbsession, NAGANO_CITY)
    make_site(dbsession, "202029")
    first, second = (upload(dbsession, site, app_settings, alt) for alt in ("a", "b"))
    assert first.public_key != second.public_key
    testapp.get(f"/s/202029/images/{first.public_key}", status=404)  # not another site's


@pytest.fixture
def migrated_url(worker_id_name, tmp_path_factory):
    url = fresh_database_url(f"{worker_id_name}_image_keys", tmp_path_factory.mktemp("keys"))
    migrate(url)
    yield url
    drop_database(url)


def _alembic(url, action, revision):
    config = Config()
    config.set_main_option("script_location", "furusato_cms:alembic")
    engine = get_engine({"furusato.db_url": url})
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        action(config, revision)
    engine.dispose()


def test_migration_moves_existing_references_to_the_keys(migrated_url, app_settings):
    engine = get_engine({"furusato.db_url": migrated_url})
    with Session(engine) as session:
        site = make_site(session, NAGANO_CITY)
        image = upload(session, site, app_settings, "old")
        make_post(session, site, "old", body=f"![写真](/s/{site.code}/images/{image.public_key})"
                                             f" and ![別](/s/{site.code}/images/999)")
        session.commit()
        image_id, first_key = image.id, image.public_key
    _alembic(migrated_url, command.downgrade, BEFORE)
    with engine.connect() as connection:
        body = connection.scalar(select(Post.body).where(Post.slug == "old"))
    assert body == (f"![写真](/s/{NAGANO_CITY}/images/{image_id}) and "
                    f"![別](/s/{NAGANO_CITY}/images/999)")
    _alembic(migrated_url, command.upgrade, "heads")
    with Session(engine) as session:
        key = session.scalar(select(Image.public_key))
        body = session.scalar(select(Post.body).where(Post.slug == "old"))
    engine.dispose()
    assert key != first_key and len(key) >= 22
    assert body == f"![写真](/s/{NAGANO_CITY}/images/{key}) and ![別](/s/{NAGANO_CITY}/images/999)"
    app = app_for(migrated_url)
    try:
        visitor = client(app)
        assert visitor.get(f"/s/{NAGANO_CITY}/images/{key}").content_type == "image/png"
        visitor.get(f"/s/{NAGANO_CITY}/images/{image_id}", status=404)
    finally:
        app.registry["db_engine"].dispose()
