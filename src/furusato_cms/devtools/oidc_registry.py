"""What the local OpenID Connect provider reads from files: its signing key, the registered
clients and the test people — and how development scripts and tests register a client.

Keys are JWKs (JSON), generated on first use and readable by their owner only. Files are
written atomically, because the running provider re-reads the clients file on every request.
"""
import json
import os

from joserfc import jwk

from .oidc_pages import FAULT_LABELS

PEOPLE_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_people.json")
PERSON_FIELDS = {"key", "sub", "name", "birthdate", "gender", "address", "fault"}


def _write_json(path: str, data, mode: int = 0o644) -> None:
    """Write atomically, so a running provider never reads half a file."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2)
    os.replace(temporary, path)


def load_or_create_key(path: str, *, alg: str = "RS256") -> dict:
    """The private signing JWK kept at ``path``, generated (readable by the owner only) when
    missing, so tokens stay verifiable across restarts."""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    kty, size = ("EC", "P-256") if alg == "ES256" else ("RSA", 2048)
    key = jwk.generate_key(kty, size, private=True, auto_kid=True)
    private = key.as_dict(private=True, alg=alg, use="sig")
    _write_json(path, private, mode=0o600)
    return private


def public_jwk(private: dict) -> dict:
    return jwk.import_key(private).as_dict(private=False, alg=private["alg"], use="sig")


def read_clients(path: str) -> dict:
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def ensure_client(clients_path: str, client_id: str, *, key_path: str, redirect_uris=(),
                  alg: str = "RS256") -> dict:
    """Register ``client_id`` with the public half of the key at ``key_path`` (created when
    missing) and the given redirect URIs; return the client's private JWK."""
    private = load_or_create_key(key_path, alg=alg)
    clients = read_clients(clients_path)
    entry = clients.setdefault(client_id, {"redirect_uris": []})
    entry["jwks"] = {"keys": [public_jwk(private)]}
    entry["redirect_uris"] += [uri for uri in redirect_uris if uri not in entry["redirect_uris"]]
    _write_json(clients_path, clients)
    return private


def register_redirect_uri(clients_path: str, client_id: str, redirect_uri: str) -> None:
    clients = read_clients(clients_path)
    uris = clients[client_id]["redirect_uris"]
    if redirect_uri not in uris:
        uris.append(redirect_uri)
        _write_json(clients_path, clients)


def load_people(path: str = PEOPLE_FILE) -> list:
    """The test people, refusing any field outside the claims we may hold (so a 個人番号
    can never slip in) and any unknown fault."""
    with open(path, encoding="utf-8") as handle:
        people = json.load(handle)
    for person in people:
        extra = set(person) - PERSON_FIELDS
        if extra:
            raise ValueError(f"{person.get('key')}: fields not allowed: {sorted(extra)}")
        if person.get("fault") and person["fault"] not in FAULT_LABELS:
            raise ValueError(f"{person['key']}: unknown fault {person['fault']!r}")
    if len({p["key"] for p in people}) != len(people):
        raise ValueError("test people keys must be unique")
    return people


def person_claims(person: dict, scope) -> dict:
    """The claims a scope releases: each profile scope releases the claim of its name."""
    return {name: person[name] for name in scope if name != "openid"}
