"""uPlot, which draws the run charts, is installed from npm (``make install`` runs
``scripts/install_js.py``; package-lock.json pins it) and served by Beacon itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders

INSTALL_HINT = "uPlot is not installed: run `make install` (scripts/install_js.py)"


def test_uplot_is_installed_at_the_pinned_version() -> None:
    root = Path(settings.BASE_DIR)
    pinned = json.loads((root / "package.json").read_text())["dependencies"]["uplot"]
    installed = root / "node_modules" / "uplot" / "package.json"
    assert installed.exists(), INSTALL_HINT
    assert json.loads(installed.read_text())["version"] == pinned, INSTALL_HINT
    for name in ("uplot/uPlot.iife.min.js", "uplot/uPlot.min.css"):
        assert finders.find(name), f"{name}: {INSTALL_HINT}"


def test_the_library_is_not_committed_to_the_repository() -> None:
    root = Path(settings.BASE_DIR)
    assert not list((root / "static").rglob("uPlot*")), "don't vendor uPlot: npm installs it"
    assert "node_modules/" in (root / ".gitignore").read_text().split()


def test_the_script_and_styles_are_served(client: Any) -> None:
    for name, kind in (("uplot/uPlot.iife.min.js", "javascript"), ("uplot/uPlot.min.css", "css"),
                       ("run-charts.js", "javascript")):
        response = client.get(f"/{settings.STATIC_URL.strip('/')}/{name}")
        assert response.status_code == 200, f"{name}: {INSTALL_HINT}"
        assert kind in response["Content-Type"]
