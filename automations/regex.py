"""User-supplied regular expressions, evaluated with RE2 so matching is linear-time.

Backreferences and lookaround are not available (RE2 cannot run them in linear
time); such patterns are rejected with a clear message when a filter is saved.
"""

from __future__ import annotations

from functools import lru_cache

import re2

MAX_PATTERN_LENGTH = 1000
# RE2's program-size budget: large enough for any sensible filter, small enough
# that a hostile pattern cannot eat the worker's memory.
MAX_MEMORY = 8 << 20


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # errors become ValueError below, not stderr noise
    options.never_capture = True  # filters only ask "does it match?"
    options.max_mem = MAX_MEMORY
    return options


def compile_user_regex(pattern: str) -> re2._Regexp:
    """Compile ``pattern`` with RE2; ``ValueError`` with a readable message if it is invalid."""
    if not isinstance(pattern, str):
        raise ValueError("A regular expression must be a string.")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(
            f"Regular expression is too long ({len(pattern)} characters, "
            f"at most {MAX_PATTERN_LENGTH})."
        )
    try:
        return re2.compile(pattern, options=_options())
    except re2.error as exc:
        detail = exc.args[0] if exc.args else "syntax error"
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        raise ValueError(
            f"Invalid regular expression {pattern!r}: {detail} "
            "(RE2 syntax: no backreferences or lookaround)."
        ) from None


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re2._Regexp:
    return compile_user_regex(pattern)


def search(pattern: str, text: str) -> bool:
    """True when ``pattern`` matches anywhere in ``text`` (anchor with ``^``/``$``).

    Raises ``ValueError`` for an invalid pattern."""
    return _compiled(pattern).search(text) is not None
