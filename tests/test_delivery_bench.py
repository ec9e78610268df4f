"""Smoke run of the delivery benchmark (--quick): it must run end to end and lose nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_delivery_bench_quick_runs() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_delivery.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "1. Fan-out to 90 members" in out and "2. Urgent overtakes bulk" in out and "3. Fan-out to 90" in out
    assert out.count("delivered / lost        90 / 0") == 2
    assert "unhandled 0" in out
