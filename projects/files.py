"""Files of runs (and of logged models) under ``BEACON_ARTIFACT_ROOT``.

Layout: ``<root>/<team>/<project>/<run id>/<path>`` for a run's files and
``<root>/<team>/<project>/_models/<model id>/<path>`` for a model's (run ids
start with a letter or digit, so ``_models`` never clashes). Relative paths are
checked before use: no ``..``, no absolute paths, no NUL or backslash."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from django.conf import settings

from projects.models import Project, Run

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class FileEntry:
    path: str  # relative to the folder listed from
    is_dir: bool
    size: int | None


def project_folder(project: Project) -> Path:
    return Path(settings.BEACON_ARTIFACT_ROOT) / project.team.slug / project.name


def run_folder(run: Run) -> Path:
    return project_folder(run.project) / run.run_id


def model_folder(project: Project, model_id: str) -> Path:
    return project_folder(project) / "_models" / model_id


def clean_path(rel: str) -> str:
    """``rel`` as a normalised relative POSIX path; ``ValueError`` if it could escape."""
    if "\x00" in rel or "\\" in rel or len(rel) > 1024:
        raise ValueError("File paths must not contain NUL or backslash characters.")
    parts = [p for p in PurePosixPath(rel).parts if p not in ("", ".", "/")]
    if rel.startswith("/") or any(p == ".." for p in parts):
        raise ValueError("File paths must be relative and must not contain '..'.")
    return "/".join(parts)


def resolve(folder: Path, rel: str) -> Path:
    return folder / clean_path(rel) if clean_path(rel) else folder


def save(folder: Path, rel: str, stream: IO[bytes]) -> int:
    """Write ``stream`` to ``folder/rel`` atomically (a temp file, then rename)."""
    target = resolve(folder, rel)
    if target == folder:
        raise ValueError("A file needs a name.")
    if target.is_dir():
        raise ValueError(f"{clean_path(rel)!r} is a folder.")
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, prefix=".upload-") as tmp:
        try:
            while chunk := stream.read(CHUNK):
                tmp.write(chunk)
                size += len(chunk)
        except BaseException:
            os.unlink(tmp.name)
            raise
    os.replace(tmp.name, target)
    return size


def listing(folder: Path, rel: str = "") -> list[FileEntry]:
    """The entries directly inside ``folder/rel`` (names only), folders first."""
    where = resolve(folder, rel)
    if not where.is_dir():
        return []
    out = [
        FileEntry(entry.name, entry.is_dir(), None if entry.is_dir() else entry.stat().st_size)
        for entry in where.iterdir()
        if not entry.name.startswith(".upload-")
    ]
    return sorted(out, key=lambda e: (not e.is_dir, e.path))


def walk(folder: Path) -> list[FileEntry]:
    """Every file under ``folder`` with its path relative to it, in path order."""
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith(".upload-"):
            out.append(FileEntry(path.relative_to(folder).as_posix(), False, path.stat().st_size))
    return out


def open_file(folder: Path, rel: str) -> IO[bytes] | None:
    target = resolve(folder, rel)
    if not target.is_file():
        return None
    return target.open("rb")


def delete(folder: Path, rel: str) -> bool:
    target = resolve(folder, rel)
    if target == folder or not target.exists():
        return False
    if target.is_dir():
        shutil.rmtree(target)
    else:
        target.unlink()
    return True


def digest(folder: Path) -> str:
    """A SHA-256 over every file's path and content: equal folders, equal digests."""
    h = hashlib.sha256()
    for entry in walk(folder):
        h.update(entry.path.encode() + b"\x00")
        with (folder / entry.path).open("rb") as f:
            for chunk in iter_chunks(f):
                h.update(chunk)
        h.update(b"\x00")
    return "sha256:" + h.hexdigest()


def iter_chunks(f: IO[bytes]) -> Iterator[bytes]:
    while chunk := f.read(CHUNK):
        yield chunk
