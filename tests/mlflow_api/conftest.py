"""MLflow tests: a Django test client speaking MLflow's REST protocol, and real
``mlflow`` scripts run as subprocesses against a live test server."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from teams.models import ApiKey

SCRIPT_TIMEOUT = 600  # mlflow imports are slow on a busy machine


@pytest.fixture(autouse=True)
def artifact_root(settings: Any, tmp_path: Path) -> Path:
    root = tmp_path / "artifacts"
    settings.BEACON_ARTIFACT_ROOT = root
    return root


class MlflowClient:
    """``/mlflow/<team>/api/2.0/mlflow/<endpoint>`` with an API key (Bearer or Basic)."""

    def __init__(self, key: str | None, team: str = "acme", basic: bool = False) -> None:
        self.client = Client()
        self.team = team
        self.headers: dict[str, str] = {}
        if key and basic:
            token = base64.b64encode(f"anyone:{key}".encode()).decode()
            self.headers = {"Authorization": f"Basic {token}"}
        elif key:
            self.headers = {"Authorization": f"Bearer {key}"}

    def url(self, endpoint: str) -> str:
        return f"/mlflow/{self.team}/api/2.0/mlflow/{endpoint}"

    def get(self, endpoint: str, **params: Any) -> Any:
        return self.client.get(self.url(endpoint), params, headers=self.headers)

    def post(self, endpoint: str, body: Any = None, method: str = "post") -> Any:
        fn = getattr(self.client, method)
        data = body if isinstance(body, bytes | str) else json.dumps(body or {})
        return fn(self.url(endpoint), data=data, content_type="application/json",
                  headers=self.headers)

    def raw(self, method: str, path: str, data: bytes = b"") -> Any:
        fn = getattr(self.client, method)
        return fn(f"/mlflow/{self.team}/{path}", data=data,
                  content_type="application/octet-stream", headers=self.headers)


@pytest.fixture
def mlflow_for(db: Any) -> Callable[..., MlflowClient]:
    def make(user: User | None, team: str = "acme", basic: bool = False) -> MlflowClient:
        key = ApiKey.issue(user, "mlflow")[1] if user else None
        return MlflowClient(key, team, basic)

    return make


def run_script(base_url: str, team: str, key: str, code: str, extra_env: dict[str, str] | None
               = None) -> tuple[subprocess.CompletedProcess[str], Any]:
    """Run ``code`` with the real ``mlflow`` client and only the two variables a user
    sets; returns the process and the JSON the script printed on its last line."""
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("MLFLOW_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))
    }
    env.update({
        "MLFLOW_TRACKING_URI": f"{base_url}/mlflow/{team}",
        "MLFLOW_TRACKING_TOKEN": key,
        # Fail fast instead of retrying for minutes when something is wrong.
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "120",
        "GIT_PYTHON_REFRESH": "quiet",
        **(extra_env or {}),
    })
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env, capture_output=True, text=True, timeout=SCRIPT_TIMEOUT,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    result = json.loads(lines[-1]) if lines else None
    return proc, result
