"""Owner-only files under the data folder: the umask, the store file and the atomic writers."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import process_umask
from governance.config import Settings
from governance.private_files import private_temp_file, restrict_umask, write_private_text
from governance.runtime import open_store
from governance.store import create_store_engine


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_restrict_umask_adds_077() -> None:
    with process_umask(0o022):
        previous = restrict_umask()
        current = os.umask(0o022)
    assert previous == 0o022
    assert current == 0o077


def test_open_store_makes_data_dir_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: dict[str, str]
) -> None:
    data_dir = tmp_path / "var"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    monkeypatch.setenv("REVIEW_GOV_DATA_DIR", str(data_dir))
    monkeypatch.delenv("REVIEW_GOV_STORE_URL", raising=False)

    with process_umask(0o022):
        store = open_store(Settings.from_env())
        later_file = data_dir / "written-later.txt"
        later_file.write_text("x", encoding="utf-8")
        later_dir = data_dir / "later"
        later_dir.mkdir()
    store.engine.dispose()

    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "governance.db") == 0o600
    assert _mode(later_file) == 0o600
    assert _mode(later_dir) == 0o700


def test_sqlite_store_file_private(tmp_path: Path) -> None:
    database = tmp_path / "new" / "governance.db"

    with process_umask(0o022):
        engine = create_store_engine(f"sqlite:///{database}")
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE example (id INTEGER)")
            wal = database.with_name("governance.db-wal")
            assert wal.exists()
            assert _mode(wal) == 0o600
    engine.dispose()

    assert _mode(database) == 0o600
    assert _mode(database.parent) == 0o700


def test_cli_db_upgrade_store_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from governance.cli import app

    database = tmp_path / "var" / "governance.db"
    monkeypatch.setenv("REVIEW_GOV_STORE_URL", f"sqlite:///{database}")

    with process_umask(0o022):
        result = CliRunner().invoke(app, ["db", "upgrade"])
        report = tmp_path / "report.txt"
        report.write_text("x", encoding="utf-8")

    assert result.exit_code == 0, result.output
    assert _mode(database) == 0o600
    assert _mode(report) == 0o600


def test_write_private_text_replaces(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "report.json"

    with process_umask(0o022):
        write_private_text(target, "first")
        write_private_text(target, "second")

    assert target.read_text(encoding="utf-8") == "second"
    assert _mode(target) == 0o600
    assert _mode(target.parent) == 0o700
    assert [path.name for path in target.parent.iterdir()] == ["report.json"]


def test_private_temp_file_hidden(tmp_path: Path) -> None:
    target = tmp_path / "extracts" / "analytics.parquet"

    with process_umask(0o022):
        temporary = private_temp_file(target)

    assert temporary.parent == target.parent
    assert temporary.name.startswith(".analytics.parquet.")
    assert temporary.suffix == ".tmp"
    assert _mode(temporary) == 0o600
    assert not list(target.parent.glob("*.parquet"))
