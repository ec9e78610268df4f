"""Generate the compact Bot API spec the emulator ships with, from Telegram's machine-readable reference."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "telegram-bot-api" / "api.json"
DEFAULT_OUT = Path(__file__).resolve().parent / "botapi_spec.json"


def _fields(raw: list[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """Map each field name to its types and required flag, dropping prose."""
    return {f["name"]: {"types": list(f["types"]), "required": bool(f["required"])} for f in raw or []}


def compact(api: dict[str, Any]) -> dict[str, Any]:
    """Reduce the full reference to what validation needs."""
    methods = {
        name: {"params": _fields(m.get("fields")), "returns": list(m.get("returns", []))}
        for name, m in api["methods"].items()
    }
    types: dict[str, Any] = {}
    for name, t in api["types"].items():
        entry: dict[str, Any] = {"fields": _fields(t.get("fields"))}
        if t.get("subtypes"):
            entry["subtypes"] = list(t["subtypes"])
        types[name] = entry
    return {"version": api["version"], "methods": methods, "types": types}


def render(spec: dict[str, Any]) -> str:
    """Serialise deterministically so regeneration gives byte-identical output."""
    return json.dumps(spec, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def generate(source: Path = DEFAULT_SOURCE) -> str:
    """Read the reference at ``source`` and return the compact spec text."""
    return render(compact(json.loads(Path(source).read_text(encoding="utf-8"))))


def main(argv: list[str] | None = None) -> None:
    """CLI entry: ``python -m sandbox.emulator.gen_spec [--source ...] [--out ...]``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    args.out.write_text(generate(args.source), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
