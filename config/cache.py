"""The cache of a Beacon without Redis: files, shared by every web process.

Django's ``FileBasedCache`` counts with ``incr`` as a ``get`` and then a ``set``,
and each ``set`` lists the folder (to cull it), writes a temporary file and renames
it over the old one. For the rate-limit counters (``config.ratelimit``) that is
most of an API request's bookkeeping, since ext4 flushes a file renamed over
another to disk; and two processes counting at once can both read 4 and both
write 5, losing a request.

``FileCache.incr`` rewrites the counter's file in place instead, under an
exclusive lock, so it is atomic across processes and costs a few system calls;
reads take a shared lock, so they never see a half-written file.
"""

from __future__ import annotations

import os
import pickle
import time
import zlib
from typing import IO, Any

from django.core.cache.backends.filebased import FileBasedCache
from django.core.files import locks


class FileCache(FileBasedCache):
    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> Any:
        """``get`` + ``delta`` + ``set`` as one step, keeping the expiry; raises
        ``ValueError`` when the key is missing or expired (as every cache does)."""
        fname = self._key_to_file(key, version)
        while True:
            try:
                with open(fname, "r+b") as f:
                    locks.lock(f, locks.LOCK_EX)
                    if os.fstat(f.fileno()).st_ino != _inode(fname):
                        continue  # replaced by a ``set`` while we waited: count in the new one
                    return self._add_in_place(f, key, delta)
            except FileNotFoundError:
                raise ValueError(f"Key '{key}' not found.") from None

    def _add_in_place(self, f: IO[bytes], key: Any, delta: int) -> Any:
        try:
            expiry = pickle.load(f)
            value = pickle.loads(zlib.decompress(f.read())) + delta
        except EOFError:  # an empty file counts as expired, as in ``_is_expired``
            expiry, value = 0, None
        if value is None or (expiry is not None and expiry < time.time()):
            raise ValueError(f"Key '{key}' not found.")
        f.seek(0)
        f.write(pickle.dumps(expiry, self.pickle_protocol))
        f.write(zlib.compress(pickle.dumps(value, self.pickle_protocol)))
        f.truncate()
        return value

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        fname = self._key_to_file(key, version)
        try:
            with open(fname, "rb") as f:
                locks.lock(f, locks.LOCK_SH)
                if not self._is_expired(f):
                    return pickle.loads(zlib.decompress(f.read()))
        except FileNotFoundError:
            pass
        return default

    def has_key(self, key: Any, version: int | None = None) -> bool:
        fname = self._key_to_file(key, version)
        try:
            with open(fname, "rb") as f:
                locks.lock(f, locks.LOCK_SH)
                return not self._is_expired(f)
        except FileNotFoundError:
            return False


def _inode(path: str) -> int:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return -1
