"""furusato-verify-card <keys.json> <statement> [--at ISO-DATETIME]: check a registration
card's QR code without a connection — the documented way for a facility's own system.

Save the public keys once from ``<base url>/verify/keys.json`` (again after a key
rotation); then give the statement, or the whole URL from the QR code ("-" reads it from
standard input). It prints one JSON object: ``{"valid": true, "site": ..., "site_code":
..., "tier": "basic"|"premium", "premium_until": "YYYY-MM-DD"|null, "long_stay": ...,
"expires_at": ...}`` or ``{"valid": false, "reason": ...}`` (reason: malformed,
unknown_key, bad_signature, expired, not_yet_valid), and exits 0 when valid, 1 when not.
The rule is the server's own (services/card_statements.py).
"""
import argparse
import json
import sys

from ..clock import system_clock
from ..services.card_statements import verify_statement
from .common import add_at_option, print_json


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("keys", help="the saved keys.json")
    parser.add_argument("statement", help='the statement or the QR code\'s URL; "-" for stdin')
    add_at_option(parser, "check as of this moment (default: now)")
    args = parser.parse_args(argv)
    try:
        with open(args.keys, encoding="utf-8") as handle:
            jwks = json.load(handle)
    except (OSError, ValueError) as error:
        parser.error(f"cannot read the keys from {args.keys}: {error}")
    entered = sys.stdin.read() if args.statement == "-" else args.statement
    verdict = verify_statement(entered, jwks, args.at or system_clock())
    print_json(verdict.public())
    return 0 if verdict.valid else 1


if __name__ == "__main__":
    sys.exit(main())
