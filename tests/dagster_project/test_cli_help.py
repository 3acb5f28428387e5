"""Every command's ``--help`` prints and exits 0 (a ``%`` in a help text once crashed argparse)."""

from __future__ import annotations

import pytest

from dagster_project.cli import main

COMMANDS = [
    [], ["init"], ["validate"], ["run"], ["demo"], ["recover"], ["trace"], ["tags"], ["events"],
    ["audit"], ["report"], ["report", "ropa"], ["report", "transparency"], ["serve"], ["worker"],
    ["grants"],
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "tagtrail")
def test_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    assert "usage: tagtrail" in capsys.readouterr().out
