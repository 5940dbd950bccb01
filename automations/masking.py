"""Secret masking: the one place that hides secret values in what Beacon keeps or shows.

:func:`masked_excerpt` is the public function. Attempt excerpts, attempt and
execution errors, stored payloads (through ``templating.mask_secrets``),
integration-test results and inbox requests all go through it.

A receiver may echo a secret in many shapes, so every *encoding* of each secret
is masked, not just its exact text:

- the text itself, and every JSON string encoding of it: short escapes
  (``\\"``, ``\\\\``, ``\\/``, ``\\n``…), ``\\uXXXX`` escapes (any hex case,
  surrogate pairs for characters beyond the BMP), in any mix — e.g. the
  ``ensure_ascii`` form ``SEKRIT\\"q\\\\b/\\u00fc`` next to Beacon's own
  ``ensure_ascii=False`` form — and that escaped text escaped once more (JSON
  inside a JSON string);
- URL encoding (``quote`` and ``quote_plus``: ``%XX`` of the UTF-8 bytes, any
  hex case, ``+`` for a space), HTML entities (``&quot;``, ``&#34;``,
  ``&#x22;``…) and ``\\xHH`` / ``\\UXXXXXXXX`` escapes, character by character,
  so mixed forms are caught too;
- base64 (standard and URL-safe, with or without padding) of the secret's UTF-8
  bytes — alone, and at any byte offset inside a longer encoded text such as
  ``Bearer <secret>`` or Basic ``user:<secret>`` (the characters that depend
  only on the secret's bytes are masked) — and hex (lower and upper case).

Masking happens *before* the text is cut to ``limit``. After the cut, and at the
end of the text given (which may itself have been cut by someone else), any
tail that is the beginning of an encoding of a secret — 6 characters or more,
an escape cut in half included — is masked too, so no secret's first
characters survive at the cut.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_MASK = "••••••"
# An excerpt keeps this many characters (attempt responses, test results).
EXCERPT_LIMIT = 2048
# A tail this long (in encoded characters) that begins an encoding of a secret is masked.
MIN_PREFIX = 6
# Steps the search for a secret's beginning at the cut may take (per secret). Texts made
# of long runs of a secret's own characters could take far more; past this budget the
# whole stretch that could hold such a beginning is masked instead (too much, never
# too little).
TAIL_BUDGET = 20_000
# Derived encodings (base64 pieces, hex) shorter than this are not masked on their own:
# they would mask ordinary text.
MIN_DERIVED = 6
# Candidate mask characters (none is ASCII, so none is part of an escape): the first one
# that appears in no secret is used, so a mask can never join surrounding text into a
# new occurrence of a secret.
MASK_CHARS = "•▪◆●■★"
SHORT_ESCAPES = {
    '"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n",
    "\r": "\\r", "\t": "\\t",
}
HTML_NAMED = {'"': "&quot;", "&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&#39;"}


@dataclass(frozen=True)
class Alt:
    """One way one character of a secret can be written; ``fold`` compares case-insensitively
    (escapes: hex digits and entity names)."""

    text: str
    fold: bool = False

    def at(self, text: str, pos: int) -> bool:
        piece = text[pos:pos + len(self.text)]
        if self.fold:
            return piece.lower() == self.text.lower()
        return piece == self.text

    def begins_at(self, text: str, pos: int) -> bool:
        """``text`` ends, from ``pos``, with a non-empty proper beginning of this
        alternative (an escape cut in half)."""
        left = len(text) - pos
        if left <= 0 or left >= len(self.text):
            return False
        rest, head = text[pos:], self.text[:left]
        return head.lower() == rest.lower() if self.fold else head == rest

    @property
    def pattern(self) -> str:
        if not self.fold:
            return re.escape(self.text)
        # Character classes, not a (?i:...) group: far cheaper to compile in bulk.
        return "".join(
            f"[{c.lower()}{c.upper()}]" if c.isascii() and c.isalpha() else re.escape(c)
            for c in self.text
        )


def _json_escapes(char: str) -> list[str]:
    """Every way JSON writes ``char`` inside a string (besides the character itself)."""
    found = []
    if char in SHORT_ESCAPES:
        found.append(SHORT_ESCAPES[char])
    code = ord(char)
    if code > 0xFFFF:
        high, low = divmod(code - 0x10000, 0x400)
        found.append(f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}")
    else:
        found.append(f"\\u{code:04x}")
    return found


def _plain_alts(char: str) -> list[Alt]:
    """``char`` as itself, URL-encoded or as an HTML entity."""
    alts = [Alt(char)]
    utf8 = char.encode("utf-8", "surrogatepass")
    alts.append(Alt("".join(f"%{b:02X}" for b in utf8), fold=True))
    if char == " ":
        alts.append(Alt("+"))
    if char in HTML_NAMED:
        alts.append(Alt(HTML_NAMED[char], fold=True))
    code = ord(char)
    alts.append(Alt(f"&#{code};"))
    alts.append(Alt(f"&#x{code:x};", fold=True))
    return alts


def _escaped_alts(char: str) -> list[Alt]:
    """``char`` inside a JSON (or C-like) string: itself where that is allowed, a JSON
    escape, ``\\xHH``/``\\UXXXXXXXX``, or a plain form."""
    alts = [a for a in _plain_alts(char) if not (a.text in ('"', "\\") or ord(a.text[0]) < 0x20)]
    alts += [Alt(form, fold=form.startswith("\\u")) for form in _json_escapes(char)]
    code = ord(char)
    if code < 0x100:
        alts.append(Alt(f"\\x{code:02x}", fold=True))
    alts.append(Alt(f"\\U{code:08x}", fold=True))
    return alts


def _twice_escaped(alt: Alt) -> Alt:
    return Alt(alt.text.replace("\\", "\\\\").replace('"', '\\"'), fold=alt.fold)


def _unique(alts: list[Alt]) -> tuple[Alt, ...]:
    found: dict[tuple[str, bool], Alt] = {}
    for alt in alts:
        found.setdefault((alt.text.lower() if alt.fold else alt.text, alt.fold), alt)
    return tuple(found.values())


@lru_cache(maxsize=4096)
def level_alts(char: str, level: int) -> tuple[Alt, ...]:
    """The ways ``char`` is written at one escaping level: 0 plain (itself, URL-encoded,
    an HTML entity), 1 inside a JSON string, 2 inside a JSON string inside a JSON string.

    Within one level a text reads one way only (JSON strings decode uniquely), so a
    regular expression built from one level does not backtrack without end.

    ASCII letters and digits are never escaped by JSON, URL or HTML encoders: they
    match only as themselves, which keeps the expression of a long key small."""
    if char.isascii() and char.isalnum():
        return (Alt(char),)
    if level == 0:
        return _unique(_plain_alts(char))
    if level == 1:
        return _unique(_escaped_alts(char))
    return _unique([_twice_escaped(a) for a in _escaped_alts(char)])


@lru_cache(maxsize=4096)
def char_alts(char: str) -> tuple[Alt, ...]:
    """Every way ``char`` may appear in an echoed response, at any level."""
    return _unique([*level_alts(char, 0), *level_alts(char, 1), *level_alts(char, 2)])


def _secret_pattern(secret: str, level: int) -> str:
    return "".join(
        "(?:" + "|".join(alt.pattern for alt in level_alts(c, level)) + ")" for c in secret
    )


def _base64_pieces(data: bytes) -> set[str]:
    """The base64 characters that depend only on ``data``, wherever it sits in an encoded
    text (3 byte alignments), standard and URL-safe, plus ``data`` encoded alone."""
    pieces = set()
    whole = base64.b64encode(data).decode()
    pieces |= {whole, whole.rstrip("=")}
    bits = 8 * len(data)
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data + b"\0\0").decode()
        start = -(-8 * offset // 6)  # ceil: the first character made of data bits only
        end = (8 * offset + bits) // 6  # floor: the last one
        pieces.add(encoded[start:end])
    pieces |= {p.replace("+", "-").replace("/", "_") for p in pieces}
    return {p for p in pieces if len(p) >= MIN_DERIVED}


def _derived_forms(secret: str) -> set[str]:
    """Encodings of the whole secret that are not character by character (base64, hex)."""
    forms = set()
    for text in {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}:
        data = text.encode("utf-8", "surrogatepass")
        forms |= _base64_pieces(data)
        hexed = binascii.hexlify(data).decode()
        forms |= {hexed, hexed.upper()}
    return {f for f in forms if len(f) >= MIN_DERIVED and f != secret}


@dataclass(frozen=True)
class Masker:
    secrets: tuple[str, ...]
    textual: str  # the regular expression of the character-by-character encodings
    derived: tuple[str, ...]  # literal encodings (base64 pieces, hex)
    mask: str

    def mask_all(self, text: str) -> str:
        # Derived forms are many and rarely present: only those found join the expression.
        present = tuple(form for form in self.derived if form in text)
        return _compiled(self.textual, present).sub(lambda _: self.mask, text)

    def tail_start(self, text: str) -> int | None:
        """Where a tail of ``text`` that begins an encoding of a secret starts (the
        earliest such start), or None."""
        n = len(text)
        best: int | None = None
        for form in self.derived:
            for length in range(min(len(form), n), MIN_PREFIX - 1, -1):
                if text.endswith(form[:length]):
                    start = n - length
                    best = start if best is None else min(best, start)
                    break
        for secret in self.secrets:
            start = _textual_tail(text, secret)
            if start is not None:
                best = start if best is None else min(best, start)
        return best

    def mask_tail(self, text: str) -> str:
        start = self.tail_start(text)
        return text if start is None else text[:start] + self.mask


def _textual_tail(text: str, secret: str) -> int | None:
    """The earliest start of a tail of ``text``, ``MIN_PREFIX`` characters or longer, that
    is the beginning of a (character-by-character) encoding of ``secret``."""
    n = len(text)
    widest = sum(max(len(a.text) for a in char_alts(c)) for c in secret)
    first = char_alts(secret[0])
    budget = [TAIL_BUDGET]
    earliest = max(0, n - widest)
    for start in range(earliest, n - MIN_PREFIX + 1):
        if not any(alt.at(text, start) or alt.begins_at(text, start) for alt in first):
            continue
        found = _encodes_prefix(text, start, secret, budget)
        if found is None:  # out of budget: mask all that could be a beginning
            return earliest
        if found:
            return start
    return None


def _encodes_prefix(text: str, start: int, secret: str, budget: list[int]) -> bool | None:
    """``text[start:]`` encodes a beginning of ``secret`` (its last character possibly
    cut inside an escape). Every way of reading is followed (a small NFA); None when
    ``budget`` (steps, shared by the caller's calls) ran out."""
    n = len(text)
    positions = {start}
    for char in secret:
        following: set[int] = set()
        for pos in positions:
            if pos == n:
                return True
            budget[0] -= 1
            if budget[0] < 0:
                return None
            for alt in char_alts(char):
                if alt.begins_at(text, pos):
                    return True
                if alt.at(text, pos):
                    following.add(pos + len(alt.text))
        if not following:
            return False
        positions = following
    return n in positions  # the whole secret, ending exactly at the end


def _choose_mask(secrets: Iterable[str], mask: str) -> str:
    used = set("".join(secrets))
    if mask != DEFAULT_MASK or not used & set(mask):
        return mask  # a mask the caller chose is used as given
    for char in MASK_CHARS:
        if char not in used:
            return char * len(DEFAULT_MASK)
    return mask


@lru_cache(maxsize=256)
def _compiled(textual: str, derived: tuple[str, ...]) -> re.Pattern[str]:
    # Derived forms after the textual ones (a secret that is itself base64 is its own
    # form), longest first.
    extra = [re.escape(form) for form in sorted(derived, key=len, reverse=True)]
    return re.compile("|".join([textual, *extra]))


@lru_cache(maxsize=64)
def _masker(secrets: tuple[str, ...], mask: str) -> Masker:
    alternatives: list[str] = []
    derived: set[str] = set()
    first: set[str] = set()
    for secret in secrets:
        derived |= _derived_forms(secret)
        for alt in char_alts(secret[0]):
            first |= {alt.text[0], alt.text[0].lower(), alt.text[0].upper()}
    # Longest first, so a secret containing another is masked whole.
    for secret in sorted(secrets, key=len, reverse=True):
        alternatives += [_secret_pattern(secret, level) for level in (2, 1, 0)]
    # A lookahead on the possible first characters lets most positions fail at once.
    starts = "".join(re.escape(c) for c in sorted(first))
    return Masker(
        secrets=secrets,
        textual=f"(?=[{starts}])(?:{'|'.join(alternatives)})",
        derived=tuple(sorted(derived)),
        mask=_choose_mask(secrets, mask),
    )


def masked_excerpt(
    text: str, secrets: Iterable[str], limit: int | None = EXCERPT_LIMIT,
    *, mask: str = DEFAULT_MASK,
) -> str:
    """``text`` with every encoding of every secret masked, then cut to ``limit`` characters.

    With a ``limit``, the text's end and the cut are treated as cuts: a tail that begins
    an encoding of a secret (``MIN_PREFIX`` characters or more) is masked as well. With
    ``limit=None`` nothing is cut and only whole encodings are masked (stored payload
    values, inbox bodies)."""
    text = str(text or "")
    wanted = tuple(sorted({s for s in secrets if s}))
    if not wanted:
        return text if limit is None else text[:limit]
    masker = _masker(wanted, mask)
    masked = masker.mask_all(text)
    if limit is None:
        return masked
    masked = masker.mask_tail(masked)
    if len(masked) > limit:
        masked = masker.mask_tail(masked[:limit])
    return masked[:limit]
