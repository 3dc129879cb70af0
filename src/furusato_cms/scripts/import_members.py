"""furusato-import-members <ini> --site CODE [--dry-run] [--message TEXT] [--lang ja|en] FILE:
invite the people of a member list (a fan club's, a newsletter's: 会員名簿) to register with
one site.

The file is .xlsx or .csv with the column names in its first row: メールアドレス (or email)
is required; 氏名/name, 郵便番号/postal code and 会員番号/member number are optional and
checked. Running the command is the operator's attestation that the site may contact these
people for this purpose; it is stored with the list, as the web form's is.

It prints the JSON report: rows read, people to invite, row-level errors
``[{"row", "column", "message"}]`` (in Japanese; ``--lang en`` for English), the rows left
out because the address is twice in the file (``duplicates``), already registered with the
site or invited before, and how many invitations were queued. ``furusato-send-campaign``
sends them. An address is never invited twice by a site, however often a list is imported.

Exit status: 0 the invitations were queued (or a clean dry run), 1 rows had errors and
nothing was sent, 2 the command line, the site or the file itself could not be used.
"""
from sqlalchemy import select

from ..clock import system_clock
from ..models import Site
from ..services.audit import Actor
from ..services.errors import ServiceError
from ..services.mail import localizer_for
from ..services.member_invitations import MemberInvitationService, attestation_text
from ..services.tabular_files import shown_report
from .common import db_transaction, ini_parser, load_settings, print_json

EXIT_SENT, EXIT_ROW_ERRORS, EXIT_UNUSABLE = 0, 1, 2


def parser():
    parser = ini_parser(__doc__)
    parser.add_argument("--site", required=True, help="the site's code (6 digits)")
    parser.add_argument("--dry-run", action="store_true", help="check only; send nothing")
    parser.add_argument("--message", default="", help="the site's own words, put at the top "
                        "of the invitation")
    parser.add_argument("--lang", choices=("ja", "en"), default="ja",
                        help="language of the messages (default ja)")
    parser.add_argument("--max-mb", type=float, default=50.0,
                        help="largest file accepted, in MB (default 50)")
    parser.add_argument("file", help="the .xlsx or .csv file")
    return parser


def main(argv=None):
    args = parser().parse_args(argv)
    settings = load_settings(args.config_uri)
    with db_transaction(settings) as (dbsession, app_settings):
        translate = localizer_for(app_settings, args.lang).translate
        output, status = _import(dbsession, app_settings, args, translate)
    print_json(output, indent=2)
    return status


def _import(dbsession, app_settings, args, translate):
    site = dbsession.scalar(select(Site).where(Site.code == args.site))
    if site is None:
        return {"file": args.file, "file_error": f"no site with the code {args.site!r}"}, \
            EXIT_UNUSABLE
    service = MemberInvitationService(dbsession, clock=system_clock, settings=app_settings)
    actor = Actor.system("furusato-import-members")
    max_bytes = int(args.max_mb * 1024 * 1024)
    try:
        with open(args.file, "rb") as stream:
            if args.dry_run:
                record = None
                _content, found = service.read_upload(site, args.file, stream, max_bytes)
            else:
                record, found = service.check(
                    actor, site, args.file, stream, message=args.message, via="command line",
                    attestation=translate(attestation_text(site.name)),
                    max_bytes=max_bytes)
            invited = service.send(actor, site, record) if record and record.content else 0
    except OSError as exc:
        return {"file": args.file, "file_error": exc.strerror or str(exc)}, EXIT_UNUSABLE
    except ServiceError as exc:
        return {"file": args.file, "file_error": translate(exc.message)}, EXIT_UNUSABLE
    report = shown_report(found.report(), translate)
    report["errors"] = [{key: e[key] for key in ("row", "column", "message")}
                        for e in report["errors"]]
    output = {"file": args.file, "site": site.code, "dry_run": args.dry_run, **report,
              "invited": invited, "member_import_id": record.id if record else None}
    return output, EXIT_SENT if found.ok else EXIT_ROW_ERRORS
