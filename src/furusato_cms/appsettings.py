"""Typed application settings, read once from the ini (and the environment)."""
import ipaddress
import os
from dataclasses import dataclass, field


def _bool(value, default=False) -> bool:
    if value is None or value == "":
        return default
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _int(value, default: int) -> int:
    return default if value is None or str(value).strip() == "" else int(value)


def _float(value, default: float) -> float:
    return default if value is None or str(value).strip() == "" else float(value)


def _networks(value) -> tuple:
    return tuple(ipaddress.ip_network(part, strict=False) for part in (value or "").split())


def _input_limits(get) -> dict:
    """The bounds on what a request may send (issue 13: bounded input)."""
    names = ("form_body_max_bytes", "upload_body_max_bytes", "workbook_unpacked_max_bytes",
             "workbook_ratio_max", "workbook_text_max_bytes")
    return {name: _int(get(f"furusato.{name}"), getattr(AppSettings, name)) for name in names}


def _oauth_limits(get) -> dict:
    """Token lifetimes and the API's rate limit (issue 14: OAuth)."""
    names = ("api_rate_per_minute", "oauth_access_token_seconds", "oauth_refresh_token_days",
             "oauth_code_seconds")
    return {name: _int(get(f"furusato.{name}"), getattr(AppSettings, name)) for name in names}


def _invitation_limits(get) -> dict:
    """How long invitation links work (staff; members of a list, issue 15)."""
    names = ("invitation_days", "member_invitation_days")
    return {name: _int(get(f"furusato.{name}"), getattr(AppSettings, name)) for name in names}


@dataclass(frozen=True)
class AppSettings:
    session_secret: str
    secure_cookies: bool = False
    hsts_seconds: int = 0
    """Strict-Transport-Security max-age (with includeSubDomains); 0 sends none (development
    over plain HTTP). production.ini sets one year."""
    db_statement_timeout_seconds: float = 10
    """Longest a web request's SQL statement may run (PostgreSQL statement_timeout); 0 = none."""
    db_lock_timeout_seconds: float = 3
    """Longest a web request waits for a row or table lock (lock_timeout); 0 = none."""
    job_statement_timeout_seconds: float = 600
    """The same limits for the console jobs (renewal, imports, statistics, mail), which
    work on many rows in one transaction and may wait behind a busy moment."""
    job_lock_timeout_seconds: float = 60
    base_url: str = "http://localhost:6543"
    admin_networks: tuple = field(default_factory=tuple)
    """Networks from which staff may use admin screens; empty = anywhere."""
    upload_max_bytes: int = 5 * 1024 * 1024
    form_body_max_bytes: int = 1024 * 1024
    """Largest request body of a form without files; larger ones are answered 413 unread."""
    upload_body_max_bytes: int = 0
    """Largest multipart body (every form with files); 0 = six uploads and a form's text."""
    workbook_unpacked_max_bytes: int = 256 * 1024 * 1024
    """What an uploaded .xlsx may unpack to, all parts together (zip bombs)."""
    workbook_ratio_max: int = 100
    """How many times its packed size an .xlsx may unpack to."""
    workbook_text_max_bytes: int = 256 * 1024
    """Longest text of one cell (or tag) in an .xlsx part, more than Excel allows."""
    image_max_width: int = 1600
    signin_max_failures: int = 5
    """Failures on one account from one address within the window before lock-out."""
    signin_max_failures_per_address: int = 30
    """Failures from one address, whatever the accounts (an office behind one NAT)."""
    signin_max_failures_per_account: int = 30
    """Failures on one account, whatever the addresses."""
    signin_window_minutes: int = 15
    signin_lockout_minutes: int = 15
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    invitation_days: int = 7
    member_invitation_days: int = 30
    """A member list's invitation link works this long (a newsletter is read late); then
    the address and name it was sent to are emptied."""
    themes_dir: str = ""
    locale_dir: str = ""
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: str = ""
    mail_from: str = "furusato-cms <no-reply@furusato.example.jp>"
    oidc_issuer: str = ""
    """The My Number Card identity provider (its discovery document is read from here)."""
    oidc_client_id: str = ""
    oidc_client_key_file: str = ""
    """This service's private JWK for private_key_jwt client authentication."""
    card_signing_key_file: str = ""
    """Ed25519 keys signing the registration card's statements (created when missing)."""
    public_cache_seconds: int = 60
    """Longest life of a cached anonymous public page; 0 turns the cache off."""
    public_cache_entries: int = 500
    api_rate_per_minute: int = 120
    """Token-authenticated API requests per minute and client (per client and person for
    tokens acting for a person); more are answered 429 with Retry-After."""
    oauth_access_token_seconds: int = 3600
    """Life of an OAuth access token; never more than an hour (longer values are cut)."""
    oauth_refresh_token_days: int = 30
    oauth_code_seconds: int = 120

    @classmethod
    def from_settings(cls, settings) -> "AppSettings":
        get = settings.get
        secret = os.environ.get("FURUSATO_SESSION_SECRET") or get("furusato.session_secret")
        if not secret:
            raise RuntimeError(
                "furusato.session_secret (or FURUSATO_SESSION_SECRET) must be set"
            )
        return cls(
            session_secret=secret,
            secure_cookies=_bool(get("furusato.secure_cookies")),
            hsts_seconds=_int(get("furusato.hsts_seconds"), cls.hsts_seconds),
            db_statement_timeout_seconds=_float(get("furusato.db_statement_timeout_seconds"),
                                                cls.db_statement_timeout_seconds),
            db_lock_timeout_seconds=_float(get("furusato.db_lock_timeout_seconds"),
                                           cls.db_lock_timeout_seconds),
            job_statement_timeout_seconds=_float(get("furusato.job_statement_timeout_seconds"),
                                                 cls.job_statement_timeout_seconds),
            job_lock_timeout_seconds=_float(get("furusato.job_lock_timeout_seconds"),
                                            cls.job_lock_timeout_seconds),
            base_url=(get("furusato.base_url") or cls.base_url).rstrip("/"),
            admin_networks=_networks(get("furusato.admin_networks")),
            upload_max_bytes=int(get("furusato.upload_max_bytes") or cls.upload_max_bytes),
            image_max_width=int(get("furusato.image_max_width") or cls.image_max_width),
            **_input_limits(get),
            themes_dir=get("furusato.themes_dir") or "",
            locale_dir=get("furusato.locale_dir") or "",
            smtp_host=get("furusato.smtp_host") or cls.smtp_host,
            smtp_port=int(get("furusato.smtp_port") or cls.smtp_port),
            smtp_starttls=_bool(get("furusato.smtp_starttls")),
            smtp_username=get("furusato.smtp_username") or "",
            smtp_password=os.environ.get("FURUSATO_SMTP_PASSWORD")
            or get("furusato.smtp_password")
            or "",
            mail_from=get("furusato.mail_from") or cls.mail_from,
            oidc_issuer=(get("furusato.oidc_issuer") or "").rstrip("/"),
            oidc_client_id=get("furusato.oidc_client_id") or "",
            oidc_client_key_file=get("furusato.oidc_client_key_file") or "",
            card_signing_key_file=get("furusato.card_signing_key_file") or "",
            public_cache_seconds=_int(get("furusato.public_cache_seconds"),
                                      cls.public_cache_seconds),
            public_cache_entries=_int(get("furusato.public_cache_entries"),
                                      cls.public_cache_entries),
            **_oauth_limits(get),
            **_invitation_limits(get),
        )

    @property
    def web_db_timeouts(self) -> tuple:
        """(statement, lock) in milliseconds for the web app's connections."""
        return _milliseconds(self.db_statement_timeout_seconds, self.db_lock_timeout_seconds)

    @property
    def job_db_timeouts(self) -> tuple:
        """(statement, lock) in milliseconds for the console jobs' connections."""
        return _milliseconds(self.job_statement_timeout_seconds, self.job_lock_timeout_seconds)

    @property
    def upload_body_limit(self) -> int:
        return self.upload_body_max_bytes or 6 * self.upload_max_bytes + self.form_body_max_bytes

    @property
    def oidc_redirect_uri(self) -> str:
        return self.base_url + "/my/identity/callback"

    def admin_allowed_from(self, client_addr: str | None) -> bool:
        if not self.admin_networks:
            return True
        try:
            addr = ipaddress.ip_address(client_addr or "")
        except ValueError:
            return False
        return any(addr in net for net in self.admin_networks)


def _milliseconds(*seconds) -> tuple:
    return tuple(int(round(value * 1000)) for value in seconds)
