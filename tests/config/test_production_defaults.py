"""Production defaults: DEBUG off unless asked for, https hardening (Secure cookies,
HSTS, redirect, an enforced CSP) that makes ``check --deploy`` clean, private
files, and pages that work under the CSP (no inline script or style)."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from config.bootstrap import ensure_keys, ensure_private_dir, ensure_private_file
from tests.support.beacon_process import ROOT, clean_env

HTTPS = {"BEACON_BASE_URL": "https://beacon.example.com", "ALLOWED_HOSTS": "beacon.example.com"}


def settings_of(tmp_path: Path, names: list[str], **env: str) -> dict[str, str]:
    """The given settings, read in a fresh interpreter with only ``env`` set."""
    code = ("import django; django.setup(); from django.conf import settings; "
            f"[print(n, '=', repr(getattr(settings, n, None))) for n in {names!r}]")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env=clean_env(BEACON_ENV_FILE=str(tmp_path / ".env"),
                      BEACON_DATA_DIR=str(tmp_path / "data"),
                      DJANGO_SETTINGS_MODULE="config.settings", **env),
    )
    assert result.returncode == 0, result.stderr
    return dict(line.split(" = ", 1) for line in result.stdout.splitlines())


def test_a_bare_deployment_runs_without_debug_and_refuses_private_receivers(
    tmp_path: Path,
) -> None:
    values = settings_of(tmp_path, ["DEBUG", "BEACON_ALLOWED_PRIVATE_NETWORKS"])
    assert values == {"DEBUG": "False", "BEACON_ALLOWED_PRIVATE_NETWORKS": "[]"}


def test_make_run_and_env_file_can_turn_debug_on_and_debug_false_wins(tmp_path: Path) -> None:
    local = settings_of(tmp_path, ["DEBUG", "BEACON_ALLOWED_PRIVATE_NETWORKS"],
                        BEACON_LOCAL="true")
    assert local == {"DEBUG": "True",
                     "BEACON_ALLOWED_PRIVATE_NETWORKS": "['127.0.0.0/8', '::1/128']"}
    assert settings_of(tmp_path, ["DEBUG"], BEACON_LOCAL="true", DEBUG="false") == {
        "DEBUG": "False"}
    (tmp_path / ".env").write_text("DEBUG=true\n")
    assert settings_of(tmp_path, ["DEBUG"]) == {"DEBUG": "True"}


def test_make_run_sets_the_local_defaults() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run: export BEACON_LOCAL = true$", makefile, re.M)


SECURITY = ["SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS",
            "SECURE_SSL_REDIRECT", "CONTENT_SECURITY_POLICY", "CSRF_TRUSTED_ORIGINS"]


def test_https_base_url_turns_on_secure_cookies_hsts_redirect_and_an_enforced_csp(
    tmp_path: Path,
) -> None:
    https = settings_of(tmp_path, SECURITY, **HTTPS)
    plain = settings_of(tmp_path, SECURITY)

    assert https["SESSION_COOKIE_SECURE"] == https["CSRF_COOKIE_SECURE"] == "True"
    assert int(https["SECURE_HSTS_SECONDS"]) >= 31_536_000
    assert https["SECURE_SSL_REDIRECT"] == "True"
    assert "script-src" in https["CONTENT_SECURITY_POLICY"]
    assert https["CSRF_TRUSTED_ORIGINS"] == "['https://beacon.example.com']"
    # Plain http (the local demo): nothing that would break it.
    assert plain["SESSION_COOKIE_SECURE"] == plain["SECURE_SSL_REDIRECT"] == "False"
    assert plain["SECURE_HSTS_SECONDS"] == "0"
    assert plain["CONTENT_SECURITY_POLICY"] == "None"


def test_proxy_ssl_header_is_configurable(tmp_path: Path) -> None:
    values = settings_of(tmp_path, ["SECURE_PROXY_SSL_HEADER"],
                         SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto", **HTTPS)
    assert values["SECURE_PROXY_SSL_HEADER"] == "('HTTP_X_FORWARDED_PROTO', 'https')"


def test_check_deploy_is_clean_behind_https(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env=clean_env(BEACON_ENV_FILE=str(tmp_path / ".env"),
                      BEACON_DATA_DIR=str(tmp_path / "data"), **HTTPS),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr + result.stdout


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_folder_sqlite_file_and_env_file_are_private(tmp_path: Path) -> None:
    settings_of(tmp_path, ["DEBUG"])  # a first start creates them

    assert mode(tmp_path / "data") == 0o700
    assert mode(tmp_path / "data" / "beacon.sqlite3") == 0o600
    assert mode(tmp_path / ".env") == 0o600


def test_files_left_open_by_an_older_beacon_are_closed(tmp_path: Path) -> None:
    data, db, env_file = tmp_path / "data", tmp_path / "data" / "db.sqlite3", tmp_path / ".env"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    db.write_bytes(b"")
    db.chmod(0o644)
    env_file.write_text("SECRET_KEY=x\n")
    env_file.chmod(0o644)

    ensure_private_dir(data)
    ensure_private_file(str(db))
    ensure_keys(env_file)

    assert (mode(data), mode(db), mode(env_file)) == (0o700, 0o600, 0o600)


# --- the Content Security Policy fits the pages --------------------------------

TEMPLATES = [p for p in (ROOT / "templates").rglob("*.html")]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_templates_have_no_inline_script_style_or_handlers(template: Path) -> None:
    text = template.read_text()
    inline_scripts = [m for m in re.finditer(r"<script\b([^>]*)>", text)
                      if "src=" not in m.group(1) and "application/json" not in m.group(1)]
    assert not inline_scripts, "move the script to a file under static/"
    assert not re.search(r"<style\b", text)
    assert not re.search(r"""\sstyle\s*=\s*["']""", text)
    assert not re.search(r"""\son[a-z]+\s*=\s*["']""", text)
    assert "javascript:" not in text


@pytest.fixture
def enforced_csp(settings: Any) -> None:
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": settings.BEACON_CSP_DIRECTIVES}


def test_pages_are_served_with_the_policy(
    enforced_csp: None, client_for: Any, admin: Any, team: Any
) -> None:
    response = client_for(admin).get("/")
    policy = response.headers["Content-Security-Policy"]

    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy


def test_local_http_reports_the_policy_without_enforcing_it(db: Any) -> None:
    response = Client().get("/login/")
    assert "Content-Security-Policy" not in response.headers
    assert "script-src 'self'" in response.headers["Content-Security-Policy-Report-Only"]
