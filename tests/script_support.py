"""Running the console scripts (コマンド) the way cron does: a separate process reading an
ini file, against a database the test migrated and filled itself."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from furusato_cms.models import get_engine

from .conftest import HERE
from .dbsetup import migrate


@pytest.fixture
def script_database(tmp_path):
    """A migrated SQLite file of the test's own, so the script sees committed data;
    yields (url, engine)."""
    url = f"sqlite:///{tmp_path}/script.sqlite"
    migrate(url)
    engine = get_engine({"furusato.db_url": url})
    try:
        yield url, engine
    finally:
        engine.dispose()


def write_ini(path, url, *, secret="script-test", base_url=True, mail_catcher=None) -> Path:
    """The [app:main] section a script reads: the database, the translations and,
    when given, the base URL and the SMTP catcher the mails go to."""
    lines = ["[app:main]", "use = egg:furusato-cms", f"furusato.db_url = {url}",
             f"furusato.session_secret = {secret}"]
    if base_url:
        lines.append("furusato.base_url = http://localhost")
    lines.append(f"furusato.locale_dir = {os.path.join(HERE, 'locale')}")
    if mail_catcher is not None:
        lines += [f"furusato.smtp_host = {mail_catcher.smtp_host}",
                  f"furusato.smtp_port = {mail_catcher.smtp_port}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_script(name, ini, *args, timeout=60) -> subprocess.CompletedProcess:
    """The installed console script ``name`` on ``ini``; FURUSATO_DB_URL is removed from
    the environment so the ini file alone decides the database."""
    env = {key: value for key, value in os.environ.items() if key != "FURUSATO_DB_URL"}
    return subprocess.run([str(Path(sys.executable).parent / name), str(ini), *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=timeout)


def script_summary(name, ini, *args, timeout=60) -> dict:
    """The JSON summary of a run that must succeed."""
    result = run_script(name, ini, *args, timeout=timeout)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
