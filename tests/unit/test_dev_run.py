"""`make run PORT=…`: the app and its stand-ins on chosen ports, with every link following.

Starts the real development runner (app, local My Number Card provider, mail catcher) on
free ports next to a fresh SQLite database, then checks that the identity provider is
reached at its port with the callback on the app's port, and that a mailed link points
at the app's port.
"""
import configparser
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from bs4 import BeautifulSoup

from furusato_cms.devtools.run import parse_args, stand_in_commands

from ..conftest import HERE

START_TIMEOUT = 60


def free_ports(count) -> list:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def wait_for(url):
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            return requests.get(url, timeout=5, allow_redirects=False)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def development_ini(tmp_path) -> Path:
    """development.ini in a directory of its own, so var/ (database, keys) lands there."""
    ini = tmp_path / "development.ini"
    shutil.copy(Path(HERE) / "development.ini", ini)
    config = configparser.ConfigParser(interpolation=None)
    config.read(ini)
    config["app:main"]["furusato.themes_dir"] = str(Path(HERE) / "themes")
    config["app:main"]["furusato.locale_dir"] = str(Path(HERE) / "locale")
    with open(ini, "w", encoding="utf-8") as handle:
        config.write(handle)
    return ini


def form_fields(html) -> dict:
    form = BeautifulSoup(html, "html.parser").find("form", id="deform")
    return {field["name"]: field.get("value", "") for field in form.find_all("input")
            if field.get("name")}


def test_every_port_can_be_chosen_and_links_follow(tmp_path):
    app_port, oidc_port, smtp_port, mail_port = free_ports(4)
    ini = development_ini(tmp_path)
    bin_dir = Path(sys.executable).parent
    subprocess.run([bin_dir / "furusato-initdb", ini], check=True, capture_output=True)
    subprocess.run([bin_dir / "furusato-demo", ini], check=True, capture_output=True)
    runner = subprocess.Popen(
        [sys.executable, "-m", "furusato_cms.devtools.run", str(ini), "--port", str(app_port),
         "--oidc-port", str(oidc_port), "--smtp-port", str(smtp_port),
         "--mail-port", str(mail_port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        app = f"http://localhost:{app_port}"
        assert wait_for(app + "/").status_code == 200
        discovery = wait_for(f"http://127.0.0.1:{oidc_port}/.well-known/openid-configuration")
        assert discovery.json()["issuer"] == f"http://127.0.0.1:{oidc_port}"
        wait_for(f"http://127.0.0.1:{mail_port}/messages.json")
        clients = (tmp_path / "var" / "dev-oidc" / "clients.json").read_text()
        assert f"{app}/my/identity/callback" in clients

        browser = requests.Session()
        fields = form_fields(browser.get(app + "/password-reset", timeout=10).text)
        fields.update(email="registrant@example.jp", reset="reset")
        assert browser.post(app + "/password-reset", data=fields, timeout=10).status_code == 200
        deadline = time.monotonic() + 20
        while not (mails := requests.get(f"http://127.0.0.1:{mail_port}/messages.json",
                                         timeout=5).json()):
            assert time.monotonic() < deadline, "no mail reached the catcher"
            time.sleep(0.3)
        text = str(mails)
        assert re.search(rf"http://localhost:{app_port}/password-reset/\S+", text)
    finally:
        runner.terminate()
        runner.wait(timeout=20)


def test_make_run_starts_the_webhook_worker_statistics_and_outbox_beside_the_stand_ins(tmp_path):
    """Webhooks a site admin subscribes to in the demo are delivered, and the dashboards
    follow within a minute, and queued mail and invitations go out, as in production."""
    commands = stand_in_commands(str(tmp_path), parse_args([str(tmp_path / "development.ini")]))
    assert [c[c.index("-m") + 1] for c in commands] == [
        "furusato_cms.devtools.oidc_provider", "furusato_cms.devtools.mail_catcher",
        "furusato_cms.scripts.webhooks", "furusato_cms.scripts.refresh_stats",
        "furusato_cms.scripts.send_campaign"]
    assert commands[2][-1] == str(tmp_path / "development.ini")
    assert commands[3][-3:] == [str(tmp_path / "development.ini"), "--every", "60"]
    outbox = commands[4]
    assert outbox[-2:] == ["--every", "30"]
    assert "--setting=furusato.smtp_port=1025" in outbox
    assert "--setting=furusato.base_url=http://localhost:6543" in outbox
