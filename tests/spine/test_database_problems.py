"""Every database problem a user can cause: one line naming the file or host and what to do,
exit status 2, and nothing changed — no folder created, no file written, no journal switched."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "results.sqlite.example"
NOBODY = 65534


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line_error(result, *expected: str) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    line = " ".join(result.output.split())
    assert line.startswith("error: "), result.output
    for text in expected:
        assert text in line, line
    return line


def sweep_args(spine, db: str) -> list[str]:
    return ["sweep", "multimnist", "--methods", "ew", "--lrs", "0.001", "--seeds", "1", "--db", db]


def test_a_db_in_a_folder_that_does_not_exist_is_refused_and_nothing_created(
    spine, isolated: Path
) -> None:
    result = spine.invoke(*sweep_args(spine, "typo/dir/x.sqlite"), *spine.flags())
    one_line_error(result, "typo/dir does not exist", "create it first or correct --db")
    assert not (isolated / "typo").exists()
    assert list(isolated.iterdir()) == []


def test_a_directory_is_not_a_database(spine, isolated: Path) -> None:
    (isolated / "folder").mkdir()
    for args in (["runs", "--db", "folder"], sweep_args(spine, "folder")):
        one_line_error(spine.invoke(*args), "folder is a directory, not a database file")


def test_a_corrupt_file_is_named_and_left_as_it_is(spine, isolated: Path) -> None:
    corrupt = isolated / "corrupt.sqlite"
    corrupt.write_bytes(b"not a database " * 500)
    before = digest(corrupt)
    for result in (
        spine.invoke("runs", "--db", "corrupt.sqlite"),
        spine.invoke(*sweep_args(spine, "corrupt.sqlite"), *spine.flags()),
    ):
        one_line_error(result, "corrupt.sqlite is not a SQLite database")
    assert digest(corrupt) == before
    assert sorted(p.name for p in isolated.iterdir()) == ["corrupt.sqlite"]


def test_a_foreign_sqlite_file_is_refused_without_touching_its_journal(
    spine, isolated: Path
) -> None:
    foreign = isolated / "notes.sqlite"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
        connection.execute("INSERT INTO notes VALUES ('mine')")
    before = digest(foreign)
    for result in (
        spine.invoke("runs", "--db", "notes.sqlite"),
        spine.invoke(*sweep_args(spine, "notes.sqlite"), *spine.flags()),
    ):
        one_line_error(result, "notes.sqlite", "not written by mtlx")
    assert digest(foreign) == before
    with sqlite3.connect(foreign) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    assert sorted(p.name for p in isolated.iterdir()) == ["notes.sqlite"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("foo://somewhere/db", "unknown database URL scheme 'foo'"),
        ("postgresql://someone@127.0.0.1:1/results", "cannot connect to the database at "),
    ],
)
def test_an_unknown_scheme_or_an_unreachable_server_is_one_line(spine, url, expected) -> None:
    line = one_line_error(spine.invoke("runs", "--db", url), expected)
    if "127.0.0.1" in url:
        assert "postgresql://127.0.0.1:1/results" in line and "someone" not in line


def test_a_missing_driver_names_the_extra_to_install(isolated: Path) -> None:
    code = (
        "import sys\n"
        "sys.modules['psycopg'] = None  # as on a machine without the postgres extra\n"
        "from typer.testing import CliRunner\n"
        "from mtlx.cli import app\n"
        "result = CliRunner().invoke(app, ['runs', '--db', 'postgresql://127.0.0.1:1/x'])\n"
        "print(result.exit_code, ' '.join(result.output.split()))\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=isolated
    ).stdout
    assert output.startswith("2 error: ")
    assert "pip install 'mtlx[postgres]'" in output


def test_seeds_out_of_range_are_refused_before_anything_is_claimed(spine, isolated: Path) -> None:
    db = str(isolated / "results.sqlite")
    one_line_error(
        spine.invoke("train", "multimnist", "--seed", "-1", "--db", db, *spine.flags()),
        "seed must be an integer between 0 and 4294967295",
    )
    one_line_error(
        spine.invoke(*sweep_args(spine, db)[:-4], "--seeds", f"{2**64},", "--db", db),
        "seeds must be between 0 and 4294967295",
    )
    assert not Path(db).exists()


def run_as_nobody(arguments: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            "setpriv",
            f"--reuid={NOBODY}",
            f"--regid={NOBODY}",
            "--clear-groups",
            sys.executable,
            "-m",
            "mtlx",
            *arguments,
        ],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200", "HOME": str(cwd)},
        timeout=300,
    )


# CI (MTLX_REQUIRE_TOOLS=1) runs as root: there, a missing precondition fails instead of skipping.
REQUIRE_TOOLS = os.environ.get("MTLX_REQUIRE_TOOLS") == "1"
NOT_ROOT = "checking permissions needs another user: run as root with setpriv (util-linux)"


def _skip_or_fail(reason: str) -> None:
    if REQUIRE_TOOLS:
        pytest.fail(f"{reason}, but MTLX_REQUIRE_TOOLS=1")
    pytest.skip(reason)


@pytest.fixture
def as_root() -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        _skip_or_fail(NOT_ROOT)


needs_root = pytest.mark.usefixtures("as_root")


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder every user may enter (pytest's own are private to their owner)."""
    folder = Path(tempfile.mkdtemp(prefix="mtlx-shared-"))
    os.chmod(folder, 0o755)  # owned by root: another user can read, not write
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@needs_root
def test_a_file_the_user_cannot_write_is_read_but_not_trained_into(shared_folder: Path) -> None:
    folder = shared_folder
    database = folder / "results.sqlite"
    shutil.copy(EXAMPLE, database)
    os.chmod(database, 0o644)
    before = digest(database)

    listed = run_as_nobody(["runs", "--db", str(database)], folder)
    assert listed.returncode == 0, listed.stderr
    assert "FINISHED" in listed.stdout

    refused = run_as_nobody(
        [
            "sweep",
            str(REPO / "experiments" / "multimnist.yaml"),
            "--db",
            str(database),
            "--methods",
            "ew",
            "--lrs",
            "0.001",
            "--seeds",
            "1",
            "--epochs",
            "1",
        ],
        folder,
    )
    assert refused.returncode == 2
    message = " ".join(refused.stderr.split())
    assert message.startswith(f"error: {database}: the database file is not writable")
    assert digest(database) == before
    assert sorted(p.name for p in folder.iterdir()) == ["results.sqlite"]

    private = folder / "private"
    private.mkdir(mode=0o700)
    hidden = run_as_nobody(["runs", "--db", str(private / "results.sqlite")], folder)
    assert hidden.returncode == 2
    assert " ".join(hidden.stderr.split()) == (
        f"error: {private / 'results.sqlite'}: permission denied (a folder on its path is not "
        "accessible to this user)"
    )


@needs_root
def test_a_database_on_read_only_media_is_read(tmp_path: Path) -> None:
    mount = tmp_path / "media"
    mount.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True
    )
    if mounted.returncode != 0:
        _skip_or_fail(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        # a WAL database, as mtlx writes them, whose -wal and -shm cannot be created there
        database = mount / "results.sqlite"
        shutil.copy(EXAMPLE, database)
        connection = sqlite3.connect(database)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.close()
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        for arguments in (["runs"], ["report", "--dataset", "multimnist", "--format", "csv"]):
            result = subprocess.run(
                [sys.executable, "-m", "mtlx", *arguments, "--db", str(database)],
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert result.returncode == 0, result.stderr
            assert "multimnist" in result.stdout
    finally:
        subprocess.run(["umount", str(mount)], check=False)
