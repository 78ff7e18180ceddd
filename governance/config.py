"""Runtime settings, read from the environment with documented defaults.

Every setting has an environment variable so that Airflow workers, the CLI and the tests share one
source of truth. Secrets (the master key and the pseudonym key) have no default: they must come from
the environment or an Airflow connection, never from code.
"""

from __future__ import annotations

import base64
import binascii
import os
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = PROJECT_ROOT / "examples"

ENV_PREFIX = "REVIEW_GOV_"


class ConsentMode(StrEnum):
    """What the consent-coverage check does when it finds a violation."""

    FAIL = "fail"
    REPORT = "report"


class SecretMissingError(RuntimeError):
    """A required secret is not set in the environment."""


class Settings(BaseModel):
    """Settings shared by the library, the CLI and the DAGs."""

    data_dir: Path = Field(description="Folder for the SQLite store, extracts and reports.")
    store_url: str = Field(description="SQLAlchemy URL of the governance store.")
    input_dir: Path = Field(description="Folder with the file exports to ingest.")
    consent_mode: ConsentMode = ConsentMode.FAIL
    language: str = Field(default="fr", description="Language of DPO-facing outputs: fr or en.")

    @classmethod
    def from_env(cls) -> Settings:
        """Build the settings from `REVIEW_GOV_*` environment variables."""
        data_dir = Path(os.environ.get(f"{ENV_PREFIX}DATA_DIR", PROJECT_ROOT / "var")).resolve()
        default_url = f"sqlite:///{data_dir / 'governance.db'}"
        return cls(
            data_dir=data_dir,
            store_url=os.environ.get(f"{ENV_PREFIX}STORE_URL", default_url),
            input_dir=Path(os.environ.get(f"{ENV_PREFIX}INPUT_DIR", EXAMPLES_DIR)).resolve(),
            consent_mode=ConsentMode(os.environ.get(f"{ENV_PREFIX}CONSENT_MODE", "fail")),
            language=os.environ.get(f"{ENV_PREFIX}LANGUAGE", "fr"),
        )

    @property
    def extracts_dir(self) -> Path:
        return self.data_dir / "extracts"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"


def read_key(name: str, *, length: int = 32) -> bytes:
    """Read a base64-encoded secret key from `REVIEW_GOV_<name>`.

    Raises SecretMissingError when the variable is unset and ValueError when it does not decode to
    `length` bytes. Neither message contains the value.
    """
    variable = f"{ENV_PREFIX}{name}"
    encoded = os.environ.get(variable, "").strip()
    if not encoded:
        raise SecretMissingError(
            f"{variable} is not set. Generate one with "
            f"`python -c \"import os, base64; print(base64.b64encode(os.urandom({length})).decode())\"` "
            "and export it, or store it in an Airflow connection."
        )
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error as error:
        raise ValueError(f"{variable} is not valid base64: {error}.") from error
    if len(key) != length:
        raise ValueError(f"{variable} must decode to {length} bytes, got {len(key)}.")
    return key
