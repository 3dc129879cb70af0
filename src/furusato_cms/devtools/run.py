"""`make run`: the app with its development stand-ins — the local My Number Card provider
(http://127.0.0.1:9080) and the mail catcher (SMTP 1025, read mail at http://127.0.0.1:1080)
— and the webhook delivery worker (furusato-webhooks) and the statistics refresh every
minute (furusato-refresh-stats --every 60) and the mail outbox and invitations every 30 s
(furusato-send-campaign --every 30), as production runs them beside the app.

Every port can be chosen (``make run PORT=7000 OIDC_PORT=9081 SMTP_PORT=1026
MAIL_PORT=1081``): the app's ``base_url`` (mail links), the identity callback registered
with the provider, the provider's issuer and the SMTP port all follow, so two checkouts
can run side by side. The stand-ins stop when the app stops. Never used in production.
"""
import argparse
import configparser
import os
import signal
import subprocess
import sys

from pyramid.paster import get_appsettings, setup_logging
from waitress import serve

from .. import main as make_app


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="furusato-run", description=__doc__.split("\n")[0])
    parser.add_argument("ini", nargs="?", default="development.ini")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 6543)))
    parser.add_argument("--oidc-port", type=int, default=9080)
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--mail-port", type=int, default=1080, help="the mail catcher's page")
    return parser.parse_args(argv)


def overrides(args) -> dict:
    """The settings that name a local port, for the ports of this run."""
    return {
        "furusato.base_url": f"http://localhost:{args.port}",
        "furusato.oidc_issuer": f"http://127.0.0.1:{args.oidc_port}",
        "furusato.smtp_host": "127.0.0.1",
        "furusato.smtp_port": str(args.smtp_port),
    }


def server_options(ini, port) -> dict:
    """The ini's waitress options (threads, body limits …), listening on ``port``."""
    parser = configparser.ConfigParser(defaults={"here": os.path.dirname(ini)})
    parser.read(ini)
    options = {key: value for key, value in parser.items("server:main")
               if key not in ("use", "here")}
    return {**options, "listen": f"localhost:{port}"}


def stand_in_commands(ini_dir, args) -> list:
    var = os.path.join(ini_dir, "var", "dev-oidc")
    python = sys.executable
    oidc = [
        python, "-W", "ignore", "-m", "furusato_cms.devtools.oidc_provider",
        "--port", str(args.oidc_port),
        "--key", os.path.join(var, "provider-key.json"),
        "--clients", os.path.join(var, "clients.json"),
        "--client-id", "furusato-dev",
        "--client-key", os.path.join(var, "client-key.json"),
        "--redirect-uri", f"http://localhost:{args.port}/my/identity/callback",
        "--redirect-uri", f"http://127.0.0.1:{args.port}/my/identity/callback",
    ]
    mail = [python, "-m", "furusato_cms.devtools.mail_catcher",
            "--smtp-port", str(args.smtp_port), "--http-port", str(args.mail_port)]
    webhooks = [python, "-m", "furusato_cms.scripts.webhooks", os.path.abspath(args.ini)]
    stats = [python, "-m", "furusato_cms.scripts.refresh_stats", os.path.abspath(args.ini),
             "--every", "60"]
    outbox = [python, "-m", "furusato_cms.scripts.send_campaign", os.path.abspath(args.ini),
              *[f"--setting={key}={value}" for key, value in overrides(args).items()],
              "--every", "30"]
    return [oidc, mail, webhooks, stats, outbox]


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    ini = os.path.abspath(args.ini)
    os.makedirs(os.path.join(os.path.dirname(ini), "var", "dev-oidc"), exist_ok=True)
    # Stopped by a signal (a test, a supervisor), the stand-ins stop too, not left behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    children = [subprocess.Popen(c) for c in stand_in_commands(os.path.dirname(ini), args)]
    print(f"mail catcher: http://127.0.0.1:{args.mail_port}  ·  local My Number Card provider: "
          f"http://127.0.0.1:{args.oidc_port}  ·  app: http://localhost:{args.port}", flush=True)
    try:
        setup_logging(ini)
        app = make_app({"__file__": ini, "here": os.path.dirname(ini)},
                       **{**get_appsettings(ini), **overrides(args)})
        serve(app, **server_options(ini, args.port))
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
