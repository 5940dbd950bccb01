"""Install the browser libraries Beacon serves itself, as pinned in package-lock.json.

    python scripts/install_js.py

Needs only Python: each package's tarball is fetched from the npm registry
(``NPM_CONFIG_REGISTRY``, default https://registry.npmjs.org), checked against the
lockfile's ``integrity`` hash and unpacked into ``node_modules/<name>/`` — the layout
``npm ci`` makes, so either may be used. Nothing is committed to the repository.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org").rstrip("/")


def tarball_url(name: str, version: str) -> str:
    return f"{REGISTRY}/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"


def check_integrity(data: bytes, integrity: str) -> None:
    algorithm, _, expected = integrity.partition("-")
    digest = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if digest != expected:
        raise SystemExit(f"integrity check failed: expected {integrity}, got {algorithm}-{digest}")


def unpack(data: bytes, target: Path) -> None:
    """Unpack an npm tarball (every member under ``package/``) into ``target``."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive.getmembers():
            if not (member.isfile() or member.isdir()):
                continue  # npm packages carry no links worth following
            relative = Path(*Path(member.name).parts[1:])
            if not relative.parts or ".." in relative.parts:
                continue
            destination = target / relative
            if member.isdir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(member)
            assert source is not None
            destination.write_bytes(source.read())


def main() -> int:
    lock = json.loads((ROOT / "package-lock.json").read_text())
    for path, package in lock["packages"].items():
        if not path.startswith("node_modules/"):
            continue
        name = path.removeprefix("node_modules/")
        url = package.get("resolved") or tarball_url(name, package["version"])
        with urllib.request.urlopen(url, timeout=60) as response:
            data = response.read()
        check_integrity(data, package["integrity"])
        unpack(data, ROOT / path)
        print(f"installed {name} {package['version']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
