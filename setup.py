"""Build hook: ship the catalogs (locales/) and the default config.yaml inside the wheel, under bot/_data/.

The checkout keeps them at the top level (where translators and operators find them); an installed package has
no checkout, so `pip install .` copies them next to the code. bot/i18n.py and bot/config.py look in the
checkout first, then here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithData(build_py):
    """build_py, plus the project's data files copied into the built package."""

    def run(self) -> None:
        """Build the packages, then copy the catalogs and the default config beside them."""
        super().run()
        target = Path(self.build_lib) / "bot" / "_data"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(ROOT / "locales", target / "locales", ignore=shutil.ignore_patterns("*.mo"))
        shutil.copy2(ROOT / "config.yaml", target / "config.yaml")


setup(cmdclass={"build_py": BuildWithData})
