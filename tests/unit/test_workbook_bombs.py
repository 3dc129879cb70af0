"""Zip-bomb workbooks (issue 13, item 1): an .xlsx that unpacks to far more than it weighs
is refused before openpyxl parses it, with a reason in the person's language, and the
process that refuses it stays small — measured with ``resource.getrusage`` in a process
of its own, for the admin screen's upload and for the console script."""
import dataclasses
import io
import json
import subprocess
import sys
import textwrap
import zipfile
from datetime import date

import pytest
from sqlalchemy.orm import Session

from furusato_cms.clock import system_clock
from furusato_cms.services.activity_import import ActivityImportService
from furusato_cms.services.tabular_files import FileError
from furusato_cms.services.audit import Actor
from furusato_cms.services.authentication import SessionService
from furusato_cms.workbooks import BoundedPart, UnpackLimits, WorkbookRefused

from ..conftest import HERE, NOW, base_settings
from ..factories import NAGANO_CITY, make_site, make_staff
from ..fixtures_import import make_verified, past_sample, table_counts, xlsx_bytes
from ..fixtures_import.bombs import SHEET, STRINGS, bomb_xlsx, declare_size
from ..script_support import write_ini

PEAK_MAX = 400 * 1024 * 1024
"""Peak memory allowed to a process that refuses a bomb (ru_maxrss, bytes)."""
GIB = 1 << 30


@pytest.fixture
def site(dbsession):
    return make_site(dbsession, NAGANO_CITY)


@pytest.fixture
def actor(dbsession, site):
    staff = make_staff(dbsession, site, "coordinator")
    return Actor(account_id=staff.id, label=staff.email, client_addr="127.0.0.1")


def refusal(dbsession, clock, settings, actor, site, path) -> str:
    """The message (in Japanese) an import of ``path`` is refused with; nothing written."""
    before = table_counts(dbsession)
    service = ActivityImportService(dbsession, clock=clock, settings=settings)
    with pytest.raises(FileError) as raised, open(path, "rb") as stream:
        service.import_file(actor, site, path.name, stream)
    assert raised.value.field == "upload"
    assert table_counts(dbsession) == before
    return raised.value.message.interpolate()


def test_more_than_the_total_unpacked_size_is_refused_from_the_directory(
        dbsession, clock, app_settings, actor, site, tmp_path):
    path = tmp_path / "big.xlsx"
    bomb_xlsx(path, text_size=3 * 1024 * 1024, filler=b"<a/>")
    small = dataclasses.replace(app_settings, workbook_unpacked_max_bytes=2 * 1024 * 1024)
    assert "unpacks to more than 2 MB" in refusal(dbsession, clock, small, actor, site, path)


def test_a_workbook_that_unpacks_to_a_hundred_times_its_size_is_refused(
        dbsession, clock, app_settings, actor, site, tmp_path):
    path = tmp_path / "ratio.xlsx"
    packed = bomb_xlsx(path, text_size=40 * 1024 * 1024, part=STRINGS, filler=b"<a/>")
    assert packed < 200 * 1024
    message = refusal(dbsession, clock, app_settings, actor, site, path)
    assert "more than 100 times its size" in message


def test_one_cell_longer_than_excel_allows_is_refused_before_it_is_parsed(
        dbsession, clock, app_settings, actor, site, tmp_path):
    for part in (SHEET, STRINGS):
        path = tmp_path / "cell.xlsx"
        bomb_xlsx(path, text_size=300 * 1024, part=part)
        assert "more than 256 KB of text" in refusal(dbsession, clock, app_settings, actor,
                                                     site, path)


def test_a_document_type_declaration_is_refused(dbsession, clock, app_settings, actor, site,
                                                 tmp_path):
    path = tmp_path / "dtd.xlsx"
    bomb_xlsx(path, text_size=10, part=STRINGS, doctype=True)
    assert "document type declaration" in refusal(dbsession, clock, app_settings, actor, site,
                                                  path)


def test_parts_packed_otherwise_than_excel_does_are_refused(dbsession, clock, app_settings,
                                                            actor, site, tmp_path):
    path = tmp_path / "bzip2.xlsx"
    bomb_xlsx(path, text_size=10, compression=zipfile.ZIP_BZIP2)
    assert "packed in a way Excel does not use" in refusal(dbsession, clock, app_settings,
                                                           actor, site, path)


@pytest.mark.parametrize("declared,expected", [
    (100_000, "does not match its contents"),
    (1_000_000, "could not be read as an Excel workbook"),
])
def test_a_directory_that_declares_a_part_small_is_caught(
        dbsession, clock, app_settings, actor, site, tmp_path, declared, expected):
    """A part declared smaller than its packed data is a lie seen in the directory; one
    declared larger than that is read no further than declared, and its CRC then fails."""
    path = tmp_path / "lies.xlsx"
    bomb_xlsx(path, text_size=64 * 1024 * 1024, filler=b"<a/>")
    declare_size(path, SHEET, declared)
    assert zipfile.ZipFile(path).getinfo(SHEET).compress_size < 1_000_000
    assert expected in refusal(dbsession, clock, app_settings, actor, site, path)


def test_the_bounded_reader_refuses_a_part_that_gives_more_than_it_declared():
    """Whatever the zip library does with a lying directory, the reader counts."""
    class Liar(io.BytesIO):
        pass

    info = zipfile.ZipInfo(SHEET)
    info.file_size = 1000
    limits = UnpackLimits(unpacked_max=GIB, ratio_max=100, text_max=256 * 1024)
    part = BoundedPart(Liar(b"<a/>" * 100_000), info, limits)
    assert len(part.read(1000)) == 1000
    with pytest.raises(WorkbookRefused) as raised:
        part.read(1000)
    assert "does not match its contents" in raised.value.message.interpolate()


def test_the_template_and_long_real_cells_still_read(dbsession, clock, app_settings, actor,
                                                     site):
    """Excel's own limit is 32,767 characters a cell: such a cell passes the reader (and
    is then a row error, as any cell over the template's length)."""
    rows = past_sample()
    rows[5][8] = "長野県長野市" * 5000
    service = ActivityImportService(dbsession, clock=clock, settings=app_settings)
    report = service.import_file(actor, site, "long.xlsx", io.BytesIO(xlsx_bytes(rows)),
                                 dry_run=True)
    assert report.rows_read == 14
    assert [(e.row, e.column) for e in report.errors] == [(6, "I")]


# -- a 1 GB bomb, refused in a process of its own ----------------------------------------

@pytest.fixture(scope="module")
def gigabyte_bombs(tmp_path_factory):
    """~1 MB workbooks whose sheet, or shared strings, unpack to 1 GiB."""
    folder = tmp_path_factory.mktemp("bombs")
    paths = {SHEET: folder / "sheet-bomb.xlsx", STRINGS: folder / "strings-bomb.xlsx"}
    for part, path in paths.items():
        assert bomb_xlsx(path, text_size=GIB, part=part) < 1_200_000
    return paths


MEASURED = textwrap.dedent("""
    import json, re, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (3 * 1024 ** 3, 3 * 1024 ** 3))
    outcome = run()
    with open("/proc/self/status") as status:
        peak_kib = int(re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1))
    outcome["maxrss"] = peak_kib * 1024
    print(json.dumps(outcome))
""")
"""The child's tail: it runs ``run()`` and prints its outcome with its peak memory. The
peak is the process's own high-water mark (``VmHWM``), not ``getrusage``'s ru_maxrss:
Linux keeps ru_maxrss across the exec, so in a child of a large test worker it reports
the worker's size (436 MB seen) instead of the child's. The address space is capped so
a bomb that gets through fails fast instead of eating the machine."""


def measured(code: str, *args) -> dict:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code) + MEASURED, *args],
                            capture_output=True, text=True, timeout=300, cwd=HERE)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def committed_site(script_database, app_settings):
    """A migrated SQLite file with the site, a coordinator signed in (their cookie token)
    and a verified participant, committed so another process sees them."""
    url, engine = script_database
    with Session(engine) as setup:
        site = make_site(setup, NAGANO_CITY)
        staff = make_staff(setup, site, "coordinator")
        make_verified(setup, "佐藤 健一", date(1974, 2, 18), "1247834")
        setup.flush()
        token, _session = SessionService(setup, clock=system_clock, settings=app_settings).start(
            staff, "127.0.0.1", second_factor_done=True)
        setup.commit()
    return url, token


def test_the_admin_screen_refuses_a_gigabyte_bomb_in_bounded_memory(committed_site,
                                                                     gigabyte_bombs):
    url, token = committed_site
    outcome = measured("""
        import json, sys
        from webtest import TestApp, Upload
        from furusato_cms import main

        def run():
            app = TestApp(main({}, **json.loads(sys.argv[1])))
            app.set_cookie("furusato_auth", sys.argv[2])
            form = app.get("/s/%s/imports/" % sys.argv[3]).forms["deform"]
            with open(sys.argv[4], "rb") as bomb:
                form["upload"] = Upload("records.xlsx", bomb.read())
            page = form.submit("import", status="*")
            return {"status": page.status_int, "text": page.text}
    """, json.dumps(base_settings(url)), token, NAGANO_CITY, str(gigabyte_bombs[SHEET]))
    assert outcome["status"] == 400
    assert "展開すると 256 MB を超えます" in outcome["text"]
    assert outcome["maxrss"] < PEAK_MAX


def test_the_console_script_refuses_a_gigabyte_bomb_in_bounded_memory(committed_site,
                                                                      gigabyte_bombs,
                                                                      tmp_path):
    url, _token = committed_site
    ini = write_ini(tmp_path / "import.ini", url, base_url=False)
    outcome = measured("""
        import contextlib, io, json, sys
        from furusato_cms.scripts.import_activities import main

        def run():
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                status = main(sys.argv[1:])
            return {"status": status, "report": json.loads(out.getvalue())}
    """, str(ini), "--site", NAGANO_CITY, "--at", NOW.isoformat(),
        str(gigabyte_bombs[STRINGS]))
    assert outcome["status"] == 2
    assert "展開すると 256 MB を超えます" in outcome["report"]["file_error"]
    assert outcome["maxrss"] < PEAK_MAX
