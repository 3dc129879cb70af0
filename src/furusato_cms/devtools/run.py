"""`make run`: the app with its development stand-ins — the local My Number Card provider
(http://127.0.0.1:9080) and the mail catcher (SMTP 1025, read mail at http://127.0.0.1:1080).

The stand-ins stop when the app stops. Never used in production.
"""
import os
import subprocess
import sys

def _stand_ins(ini_dir):
    var = os.path.join(ini_dir, "var", "dev-oidc")
    os.makedirs(var, exist_ok=True)
    python = sys.executable
    oidc = [
        python, "-W", "ignore", "-m", "furusato_cms.devtools.oidc_provider",
        "--port", "9080",
        "--key", os.path.join(var, "provider-key.json"),
        "--clients", os.path.join(var, "clients.json"),
        "--client-id", "furusato-dev",
        "--client-key", os.path.join(var, "client-key.json"),
        "--redirect-uri", "http://localhost:6543/my/identity/callback",
        "--redirect-uri", "http://127.0.0.1:6543/my/identity/callback",
    ]
    mail = [python, "-m", "furusato_cms.devtools.mail_catcher",
            "--smtp-port", "1025", "--http-port", "1080"]
    return [subprocess.Popen(oidc), subprocess.Popen(mail)]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    ini = argv[0] if argv else "development.ini"
    children = _stand_ins(os.path.dirname(os.path.abspath(ini)))
    print("mail catcher: http://127.0.0.1:1080  ·  local My Number Card provider: "
          "http://127.0.0.1:9080  ·  app: http://localhost:6543", flush=True)
    try:
        return subprocess.call([os.path.join(os.path.dirname(sys.executable), "pserve"), ini])
    except KeyboardInterrupt:
        return 0
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
