"""Resources: where files live, the reference date, the pseudonymisation key, dataset storage.

Everything is resolved when a run starts, never when definitions load.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

import dagster as dg
import pandas as pd

from pipelines.estate import Estate
from pipelines.home import tagtrail_home
from pipelines.sources import extracts_dir
from pipelines.store import dataset_path, read_dataset, write_dataset

EXTRACTS_ENV = "TAGTRAIL_EXTRACTS"
KEY_ENV = "TAGTRAIL_PSEUDONYM_KEY"
KEY_FILE_ENV = "TAGTRAIL_PSEUDONYM_KEY_FILE"


class TagtrailSettings(dg.ConfigurableResource["TagtrailSettings"]):
    """Run-wide settings, each resolved when a run starts.

    ``home`` defaults to ``TAGTRAIL_HOME``; ``as_of`` (ISO date) to today; ``extracts`` (the
    folder file sources are read from) to ``TAGTRAIL_EXTRACTS``, else the manifest's ``extracts``,
    else ``<home>/extracts``.
    """

    home: str | None = None
    as_of: str | None = None
    extracts: str | None = None

    def resolved_home(self) -> Path:
        return tagtrail_home(self.home)

    def extracts_folder(self, estate: Estate) -> Path:
        """Where this run reads file sources from."""
        configured = self.extracts or os.environ.get(EXTRACTS_ENV)
        return extracts_dir(estate, self.resolved_home(), configured)

    def reference_date(self) -> dt.date:
        return dt.date.fromisoformat(self.as_of) if self.as_of else dt.date.today()


class PseudonymKey(dg.ConfigurableResource["PseudonymKey"]):
    """The keyed-hash key, read from an environment variable or a key file at run time.

    Only the *names* of the variable and the file are configuration, so the key itself never
    appears in code, run config, the UI or logs.
    """

    key_env: str = KEY_ENV
    key_file: str | None = None

    def load(self, home: Path) -> bytes | None:
        """The key, or None if neither the variable nor a key file is set."""
        if value := os.environ.get(self.key_env):
            return value.encode()
        path = self.key_file or os.environ.get(KEY_FILE_ENV)
        candidate = Path(path) if path else default_key_file(home)
        if candidate.is_file():
            return candidate.read_bytes().strip()
        if path:
            raise dg.Failure(
                description=f"pseudonymisation key file {candidate} does not exist; create it or "
                f"set {self.key_env}"
            )
        return None


def default_key_file(home: Path) -> Path:
    return home / "keys" / "pseudonym.key"


def ensure_demo_key(home: Path) -> Path:
    """Create a random key file for the demo if there is none (readable by the owner only)."""
    path = default_key_file(home)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path


class DatasetIOManager(dg.ConfigurableIOManager):
    """Stores each asset as ``<home>/datasets/<department>/<dataset>.parquet``, written atomically."""

    home: str | None = None

    def _path(self, key: dg.AssetKey) -> Path:
        department, name = key.path[-2:]
        return dataset_path(tagtrail_home(self.home), department, name)

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        path = self._path(context.asset_key)
        write_dataset(path, obj)
        context.add_output_metadata({"tagtrail/stored_at": dg.MetadataValue.path(str(path))})

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        return read_dataset(self._path(context.asset_key))
