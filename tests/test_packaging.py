"""`pip install .` (not only editable) gives a working `liaison`: code, catalogs, config, migrations."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_wheel_carries_its_catalogs_config_and_migrations(tmp_path: Path) -> None:
    dist, site = tmp_path / "dist", tmp_path / "site"
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist)]
    subprocess.run([*build, str(ROOT)], check=True, capture_output=True)
    [wheel] = dist.glob("liaison-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "bot/_data/config.yaml",
        "bot/_data/locales/fr/LC_MESSAGES/alerts.po",
        "bot/_data/locales/en/LC_MESSAGES/core.po",
        "db/migrations/versions/0001_foundation.py",
        "db/migrations/script.py.mako",
        "handlers/alerts/__init__.py",
        "sandbox/emulator/botapi_spec.json",
        "sandbox/page/index.html",
        "sandbox/page/sample-photo.jpg",
        "sandbox/scenarios/alert-gate-2.yaml",
    ):
        assert expected in names, expected
    install = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)]
    subprocess.run(install, check=True, capture_output=True)

    # Run from an empty directory, with only the installed copy on the path: no checkout to lean on.
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("LIAISON_CONFIG", None)
    probe = (
        f"import bot.i18n as i18n; assert str(i18n.LOCALES_DIR).startswith({str(site)!r}), i18n.LOCALES_DIR; "
        "print(i18n.translator('fr').gettext('Raise an alert'))"
    )
    french = subprocess.run(
        [sys.executable, "-c", probe], cwd=outside, env=env, check=True, capture_output=True, text=True
    )
    assert french.stdout.strip() == "Lancer une alerte"
    checked = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check-config"],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr
    assert "3 posts, 5 services" in checked.stdout
