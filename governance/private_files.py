"""Owner-only folders and files under the data folder, which contains personal data.

The governance runtime calls `open_data_dir` before it touches the data folder. That adds 077 to
the process umask, so every file and folder created afterwards is owner-only: those written by
this package, and those written by SQLite, pyarrow and Great Expectations, whose modes this
package does not choose. The data folder itself gets mode 0o700, which also protects files
created there before this rule existed. Writers of this package further create their folders with
mode 0o700 and their files with mode 0o600 explicitly, so their output stays owner-only when a
caller never opened the data folder.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def restrict_umask() -> int:
    """Add 077 to the process umask, so that new files are owner-only, and return the previous umask."""
    # os.umask returns the old mask only by setting a new one. Setting the strict mask first means
    # that no file created by another thread in between gets a looser one.
    previous = os.umask(PRIVATE_UMASK)
    os.umask(previous | PRIVATE_UMASK)
    return previous


def private_dir(path: Path) -> Path:
    """Create the folder (and missing parents) if needed, and set its mode to 0o700."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    try:
        path.chmod(PRIVATE_DIR_MODE)
    except PermissionError as error:
        # A folder owned by another user: it stays usable, but this process cannot protect it.
        log.warning("Failed to set mode 0700 on folder %s (%s): check its owner and mode", path, error)
    return path


def open_data_dir(data_dir: Path) -> Path:
    """Restrict the process umask, create the data folder with mode 0o700 and return it."""
    restrict_umask()
    return private_dir(data_dir)


def private_temp_file(target: Path) -> Path:
    """Create an empty mode-0o600 file next to `target`, to be written and then renamed over it.

    The name starts with a dot and ends in `.tmp`, so no reader of `*.parquet` or `*.json` picks it
    up, and it is in the target's folder, so `os.replace` is atomic.
    """
    private_dir(target.parent)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    return Path(name)


def write_private_text(path: Path, text: str) -> Path:
    """Write `text` as UTF-8 to a mode-0o600 file through a temporary file, so readers never see half."""
    temporary = private_temp_file(path)
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path
