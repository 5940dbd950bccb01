"""W&B tests: real ``wandb`` scripts (SDK 0.31 and its ``wandb-core``) as subprocesses
against a live test server, and a GraphQL/file-stream client for protocol details."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from teams.models import ApiKey

SCRIPT_TIMEOUT = 300  # wandb starts a wandb-core process; slow on a busy machine


@pytest.fixture(autouse=True)
def artifact_root(settings: Any, tmp_path: Path) -> Path:
    root = tmp_path / "artifacts"
    settings.BEACON_ARTIFACT_ROOT = root
    return root


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"api:{key}".encode()).decode()}


class WandbClient:
    """``/wandb/graphql`` and the file stream, as the SDK sends them (Basic ``api:<key>``)."""

    def __init__(self, key: str | None) -> None:
        self.client = Client()
        self.headers = basic(key) if key else {}

    def gql(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
        body = {"query": query, "variables": variables or {}, **kw}
        return self.client.post("/wandb/graphql", data=json.dumps(body),
                                content_type="application/json", headers=self.headers)

    def stream(self, run: str, body: Any, entity: str = "acme", project: str = "mnist") -> Any:
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return self.client.post(f"/wandb/files/{entity}/{project}/{run}/file_stream", data=data,
                                content_type="application/json", headers=self.headers)


@pytest.fixture
def wandb_for(db: Any) -> Callable[[User | None], WandbClient]:
    def make(user: User | None) -> WandbClient:
        return WandbClient(ApiKey.issue(user, "wandb")[1] if user else None)

    return make


@dataclass
class ScriptResult:
    proc: subprocess.CompletedProcess[str]
    output: dict[str, Any] | None


def run_wandb(base_url: str, key: str, code: str, tmp_path: Path,
              extra_env: dict[str, str] | None = None, check: bool = True) -> ScriptResult:
    """Run ``code`` with the real ``wandb`` SDK and only the two variables a user sets
    (plus folders in ``tmp_path`` and no telemetry to the internet). The script's last
    stdout line starting with ``{`` is parsed as JSON."""
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("WANDB_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))
    }
    for name in ("dir", "cache", "config", "data", "artifacts"):
        (tmp_path / f"wandb-{name}").mkdir(exist_ok=True)
    env.update({
        "WANDB_BASE_URL": f"{base_url}/wandb",
        "WANDB_API_KEY": key,
        "WANDB_DIR": str(tmp_path / "wandb-dir"),
        "WANDB_CACHE_DIR": str(tmp_path / "wandb-cache"),
        "WANDB_CONFIG_DIR": str(tmp_path / "wandb-config"),
        "WANDB_DATA_DIR": str(tmp_path / "wandb-data"),
        "WANDB_ARTIFACT_DIR": str(tmp_path / "wandb-artifacts"),
        "WANDB_SILENT": "true",
        "WANDB_DISABLE_GIT": "true",
        "WANDB_DISABLE_CODE": "true",
        "WANDB_ERROR_REPORTING": "false",
        "WANDB_X_DISABLE_UPDATE_CHECK": "true",  # no pypi.org
        "WANDB_X_DISABLE_STATS": "true",  # no system-metrics sampler on a busy machine
        **(extra_env or {}),
    })
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path,
        env=env, capture_output=True, text=True, timeout=SCRIPT_TIMEOUT,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    result = ScriptResult(proc, json.loads(lines[-1]) if lines else None)
    if check:
        assert result.output is not None, proc.stdout + proc.stderr
    return result
