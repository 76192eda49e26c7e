"""A damaged store is refused at start with a message that names the file and the way
out, instead of serving reads while every write fails."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from kubecourse import cli
from kubecourse.embedded import daemon
from kubecourse.embedded.store import Store, StoreDamaged


def damaged_store(path: Path) -> None:
    """A store of a few hundred objects, then 4 KiB of its key index overwritten and its
    WAL dropped: every object still reads, and every write fails (the tester's case)."""
    store = Store(path)
    for i in range(300):
        meta = {"name": f"c{i}", "namespace": "default", "resourceVersion": ""}
        store.write("configmaps", {"metadata": meta, "data": {"k": "v" * 200}})
    store.close()
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        query = "SELECT pageno FROM dbstat WHERE name LIKE 'sqlite_autoindex_objects%'"
        pages = [row[0] for row in db.execute(query)]
    with open(path, "r+b") as fh:
        fh.seek((pages[len(pages) // 2] - 1) * page_size)
        fh.write(bytes(range(256)) * (page_size // 256))
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def test_a_sound_store_reopens_with_its_objects(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.sqlite")
    store.write("configmaps", {"metadata": {"name": "kept", "namespace": "default"}})
    store.close()

    assert (
        Store(tmp_path / "state.sqlite").get("configmaps", "default", "kept")
        is not None
    )


def test_a_damaged_store_is_refused_naming_the_file_and_what_to_do(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.sqlite"
    damaged_store(path)

    with pytest.raises(StoreDamaged) as err:
        Store(path)

    assert f"the embedded cluster's store {path} is damaged" in str(err.value)
    assert f"mv {path} {path}.damaged" in str(err.value)


def test_kubecourse_up_on_a_damaged_store_says_so_and_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damaged_store(tmp_path / "state.sqlite")

    code = cli.main(["--home", str(tmp_path), "up"])

    said = capsys.readouterr().err
    assert code == 1
    assert said.startswith(
        f"kubecourse up: the embedded cluster's store {tmp_path / 'state.sqlite'} is damaged"
    )
    assert "to start with a fresh cluster" in said
    assert daemon.holder(tmp_path) is None  # no daemon was started on it
