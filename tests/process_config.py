"""The shipped config.yaml, adjusted for tests that run `liaison run` as a process on the wall clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def process_config(
    tmp_path: Path, *, delivery: dict[str, Any] | None = None, **sections: dict[str, Any]
) -> Path:
    """Write the shipped config with these sections updated and without its recurring reminders."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    # The shipped reminders run on the wall clock with an hour's catch-up: started on a Monday between
    # 09:00 and 10:00 post time, the bot sends the weekly coordination reminder to every member of the
    # fan-out under test (a CI run did, on 2026-11-30), doubling what the test counts.
    config["reminders"] = []
    config["delivery"].update(delivery or {})
    for name, changes in sections.items():
        config[name].update(changes)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path
