"""One POST to an endpoint, with the guards a server calling URLs typed by others needs.

- only ``http`` and ``https``; redirects are never followed (a 3xx is a failed attempt:
  a redirect could lead anywhere, and the body is signed for the URL the site gave);
- the host is resolved once and every address it has must be public (``is_global``)
  unless ``allow_private`` (development and tests); the connection then goes to the
  address that was checked, so a DNS answer changing between the check and the connect
  (rebinding) cannot reach an internal address; TLS still verifies the certificate for
  the host name;
- connect and each read wait at most ``timeout`` seconds; at most ``EXCERPT_BYTES`` of
  the answer are read and kept."""
import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

SCHEMES = {"http": 80, "https": 443}
EXCERPT_BYTES = 1000
USER_AGENT = "furusato-cms-webhooks/1"


class DeliveryError(Exception):
    """Nothing usable came back: refused address, DNS, connection, time-out, TLS."""


@dataclass(frozen=True)
class Answer:
    status: int
    excerpt: str


def address_allowed(address: str, allow_private: bool) -> bool:
    ip = ipaddress.ip_address(address)
    if ip.is_unspecified or ip.is_multicast:
        return False
    return allow_private or ip.is_global


def literal_address(host: str):
    """The IP address a URL's host names literally, or None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def resolve(host: str, port: int, allow_private: bool) -> list:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DeliveryError(f"the host name could not be resolved ({exc})") from None
    addresses = [info[4][0] for info in infos]
    refused = [a for a in addresses if not address_allowed(a, allow_private)]
    if refused or not addresses:
        raise DeliveryError(f"refused: {host} resolves to a non-public address")
    return list(dict.fromkeys(addresses))


def _connect(addresses, port, timeout):
    """A socket to the first of the checked addresses that answers."""
    error = None
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as exc:
            error = exc
    raise error


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host, port, addresses, timeout):
        super().__init__(host, port, timeout=timeout)
        self._addresses = addresses

    def connect(self):
        self.sock = _connect(self._addresses, self.port, self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host, port, addresses, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._addresses = addresses

    def connect(self):
        sock = _connect(self._addresses, self.port, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict, *, timeout: float,
         allow_private: bool) -> Answer:
    """POST ``body``; the answer's status and excerpt, or DeliveryError."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise DeliveryError("refused: only http and https URLs")
    port = parts.port or SCHEMES[parts.scheme]
    addresses = resolve(parts.hostname, port, allow_private)
    connection_class = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    connection = connection_class(parts.hostname, port, addresses, timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", target, body=body,
                           headers={**headers, "user-agent": USER_AGENT})
        response = connection.getresponse()
        excerpt = response.read(EXCERPT_BYTES).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as exc:
        raise DeliveryError(_describe(exc)) from None
    finally:
        connection.close()
    return Answer(response.status, excerpt)


def _describe(exc) -> str:
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"[:300]
