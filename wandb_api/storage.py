"""Files the SDK uploads (run files, artifact files and manifests) under the data
folder, and the signed, expiring upload URLs that let it PUT them without auth."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core import signing
from django.http import HttpRequest
from django.urls import reverse

SALT = "wandb_api.upload"


def artifact_root() -> Path:
    root = getattr(settings, "BEACON_ARTIFACT_ROOT", None)
    return Path(root) if root else Path(settings.DATA_DIR) / "artifacts"


def safe_relative(name: str) -> PurePosixPath:
    """A file name as a relative path that cannot leave its folder (ValueError otherwise)."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or any(p in ("..", "") for p in path.parts):
        raise ValueError(f"unsafe file name {name!r}")
    return path


def run_file_path(run_pk: int, name: str) -> Path:
    return artifact_root() / "wandb" / "runs" / str(run_pk) / safe_relative(name)


def artifact_file_path(artifact_pk: int, name: str) -> Path:
    return artifact_root() / "wandb" / "artifacts" / str(artifact_pk) / safe_relative(name)


def upload_url(request: HttpRequest, kind: str, owner_pk: int, name: str) -> str:
    """An absolute URL that accepts one PUT of ``name`` until it expires."""
    safe_relative(name)
    token = signing.dumps({"k": kind, "o": owner_pk, "n": name}, salt=SALT, compress=True)
    return request.build_absolute_uri(reverse("wandb_upload", args=[token]))


def download_url(request: HttpRequest, kind: str, owner_pk: int, name: str) -> str:
    token = signing.dumps({"k": kind, "o": owner_pk, "n": name, "d": 1}, salt=SALT, compress=True)
    return request.build_absolute_uri(reverse("wandb_download", args=[token]))


def target_of(token: str, *, download: bool = False) -> Path:
    """The file a signed URL names; ``signing.BadSignature`` when forged or expired."""
    data = signing.loads(token, salt=SALT, max_age=settings.BEACON_WANDB_UPLOAD_URL_TTL)
    if bool(data.get("d")) != download:
        raise signing.BadSignature("wrong direction")
    if data["k"] == "run":
        return run_file_path(int(data["o"]), data["n"])
    if data["k"] == "artifact":
        return artifact_file_path(int(data["o"]), data["n"])
    raise signing.BadSignature("unknown kind")
