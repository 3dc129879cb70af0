"""furusato-initdb <ini>: bring the database schema to the newest Alembic revision."""
import os

from alembic import command
from alembic.config import Config

from .common import ini_parser, load_settings
from ..models import database_url


def alembic_config(config_uri, url=None) -> Config:
    cfg = Config(config_uri, ini_section="alembic")
    cfg.set_main_option("script_location", "furusato_cms:alembic")
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(config_uri):
    settings = load_settings(config_uri)
    url = database_url(settings)
    if url.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(url[len("sqlite:///"):]) or ".", exist_ok=True)
    command.upgrade(alembic_config(config_uri, url), "heads")


def main(argv=None):
    args = ini_parser(__doc__).parse_args(argv)
    upgrade(args.config_uri)
