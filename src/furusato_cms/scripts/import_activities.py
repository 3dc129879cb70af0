"""furusato-import-activities <ini> --site CODE [--dry-run] [--valid-rows-only] [--lang ja|en]
FILE: import
activity records kept before the platform started (担い手活動実績), in the national
template (.xlsx or .csv), for one site.

It prints the JSON report: rows read, activities created and matched, attendance
recorded, already recorded, pending claims, and row-level errors
``[{"row", "column", "message"}]`` with messages in Japanese (``--lang en`` for English).
All or nothing: when any row has an error, nothing is imported — unless
``--valid-rows-only``, which imports the rows without an error and reports the others.
``--dry-run`` checks the file and reports what the import would do, changing nothing.

Exit status: 0 every row imported (or a clean dry run), 1 rows had errors and nothing was
imported, 2 the command line, the site or the file itself could not be used, 3 (only with
``--valid-rows-only``) the valid rows were imported (or would be, with ``--dry-run``) and
the rows with errors were not.

Files larger than the admin screen's upload limit are fine here (``--max-mb``, default
200). ``--at`` runs the rule "only activities that have taken place" as of another
moment (with a time zone), for rehearsals.
"""
from sqlalchemy import select

from ..models import Site
from ..services.activity_import import ActivityImportService
from ..services.audit import Actor
from ..services.errors import ServiceError
from ..services.mail import localizer_for
from .common import add_at_option, clock_at, db_transaction, ini_parser, load_settings, print_json

EXIT_IMPORTED, EXIT_ROW_ERRORS, EXIT_UNUSABLE, EXIT_PARTLY = 0, 1, 2, 3


def parser():
    parser = ini_parser(__doc__)
    parser.add_argument("--site", required=True, help="the site's code (6 digits)")
    parser.add_argument("--dry-run", action="store_true", help="check only; change nothing")
    parser.add_argument("--valid-rows-only", action="store_true",
                        help="import the rows without an error, report the others (exit 3)")
    parser.add_argument("--lang", choices=("ja", "en"), default="ja",
                        help="language of the messages (default ja)")
    parser.add_argument("--max-mb", type=float, default=200.0,
                        help="largest file accepted, in MB (default 200)")
    add_at_option(parser, "the moment the import is judged at (default: now)")
    parser.add_argument("file", help="the .xlsx or .csv file")
    return parser


def main(argv=None):
    args = parser().parse_args(argv)
    settings = load_settings(args.config_uri)
    clock = clock_at(args.at)
    with db_transaction(settings) as (dbsession, app_settings):
        translate = localizer_for(app_settings, args.lang).translate
        output, status = _import(dbsession, app_settings, clock, args, translate)
    print_json(output, indent=2)
    return status


def _import(dbsession, app_settings, clock, args, translate):
    site = dbsession.scalar(select(Site).where(Site.code == args.site))
    if site is None:
        return {"file": args.file, "file_error": f"no site with the code {args.site!r}"}, \
            EXIT_UNUSABLE
    service = ActivityImportService(dbsession, clock=clock, settings=app_settings)
    try:
        with open(args.file, "rb") as stream:
            report = service.import_file(
                Actor.system("furusato-import-activities"), site, args.file, stream,
                dry_run=args.dry_run, valid_rows_only=args.valid_rows_only,
                max_bytes=int(args.max_mb * 1024 * 1024),
            )
    except OSError as exc:
        return {"file": args.file, "file_error": exc.strerror or str(exc)}, EXIT_UNUSABLE
    except ServiceError as exc:
        return {"file": args.file, "file_error": translate(exc.message)}, EXIT_UNUSABLE
    return report.as_dict(translate), _status(report)


def _status(report) -> int:
    if report.ok:
        return EXIT_IMPORTED
    return EXIT_PARTLY if report.recordable else EXIT_ROW_ERRORS
