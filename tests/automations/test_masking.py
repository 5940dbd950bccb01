"""Secret masking (automations.masking.masked_excerpt): every encoding of a secret, and any
6+ character beginning of one at the cut, is masked — property tests over secret alphabets."""

from __future__ import annotations

import json
import string
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automations.masking import DEFAULT_MASK, MIN_PREFIX, masked_excerpt
from tests.support.secret_forms import ENCODINGS, forms_of, leaked_prefix, leaks

ASCII = st.text(alphabet=string.printable, min_size=MIN_PREFIX, max_size=40)
# Quotes, backslashes and slashes: the characters escaping changes.
NASTY = st.text(alphabet='"\\/\'&<>%+ abc\n\t', min_size=MIN_PREFIX, max_size=30)
UNICODE = st.text(
    alphabet=st.characters(exclude_categories=("Cs",)), min_size=MIN_PREFIX, max_size=30
)
SECRETS = st.one_of(ASCII, NASTY, UNICODE)
AROUND = st.text(max_size=60)
PROPERTY = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY
@given(secret=SECRETS, before=AROUND, after=AROUND)
def test_no_encoding_of_a_secret_survives(secret: str, before: str, after: str) -> None:
    forms = forms_of(secret)
    text = before + " ".join(f"<{form}>" for form in forms.values()) + after
    out = masked_excerpt(text, [secret], limit=None)
    for name, form in forms.items():
        if len(form) >= MIN_PREFIX:
            assert form not in out, f"{name} form survived: {form!r} in {out!r}"


@PROPERTY
@given(secret=SECRETS, before=AROUND, after=AROUND, name=st.sampled_from(sorted(ENCODINGS)),
       data=st.data())
def test_no_encoding_nor_its_beginning_survives_the_cut(
    secret: str, before: str, after: str, name: str, data: st.DataObject
) -> None:
    form = ENCODINGS[name](secret)
    text = before + form + after
    limit = data.draw(st.integers(min_value=1, max_value=len(text) + 5), label="limit")
    out = masked_excerpt(text, [secret], limit=limit)
    assert len(out) <= limit
    assert not leaks(out, secret), f"{leaks(out, secret)} survived (or begin at the cut): {out!r}"


@PROPERTY
@given(secret=SECRETS, cut=st.integers(min_value=0, max_value=200), data=st.data())
def test_a_secret_cut_anywhere_in_an_escape_is_masked(
    secret: str, cut: int, data: st.DataObject
) -> None:
    """The cut falls inside the secret (in any of its forms), even inside one escape."""
    name = data.draw(st.sampled_from(sorted(ENCODINGS)), label="encoding")
    form = ENCODINGS[name](secret)
    keep = data.draw(st.integers(min_value=MIN_PREFIX, max_value=max(MIN_PREFIX, len(form))))
    text = "x" * 10 + form[:keep]
    out = masked_excerpt(text, [secret], limit=len(text))
    assert not leaked_prefix(out, form)


@PROPERTY
@given(secrets=st.lists(SECRETS, min_size=2, max_size=4), before=AROUND)
def test_several_secrets_at_once(secrets: list[str], before: str) -> None:
    text = before + "|".join(json.dumps(s) + quote(s) for s in secrets)
    out = masked_excerpt(text, secrets, limit=None)
    for secret in secrets:
        assert json.dumps(secret)[1:-1] not in out
        assert quote(secret, safe="") not in out


def test_the_mixed_escaped_authorization_echo_is_masked() -> None:
    """The reported leak: a receiver echoing the Authorization header JSON-escaped."""
    secret = 'SEKRIT"q\\b/ü'
    echo = json.dumps({"headers": {"Authorization": f"Bearer {secret}"}})
    assert 'SEKRIT\\"q\\\\b/\\u00fc' in echo
    out = masked_excerpt(echo, [secret])
    assert out == '{"headers": {"Authorization": "Bearer ' + DEFAULT_MASK + '"}}'


def test_masking_happens_before_the_cut() -> None:
    secret = "tok-0123456789abcdef"
    text = "a" * 2040 + secret + " and more"
    out = masked_excerpt(text, [secret], limit=2048)
    assert out == "a" * 2040 + DEFAULT_MASK + " a"
    # Cut inside the secret: its beginning is masked, not shown.
    out = masked_excerpt("a" * 2040 + secret, [secret], limit=2048)
    assert out == "a" * 2040 + DEFAULT_MASK
    assert "tok-01" not in out


def test_a_six_character_beginning_at_the_cut_is_masked_and_five_are_kept() -> None:
    secret = "ABCDEFGHIJ"
    assert masked_excerpt("hello ABCDEF", [secret], limit=12) == "hello " + DEFAULT_MASK
    assert masked_excerpt("hello ABCDE", [secret], limit=11) == "hello ABCDE"
    # Cut inside a \u escape that follows five characters of the secret.
    secret = "ABCDEü-more"
    assert masked_excerpt('x "ABCDE\\u00', [secret], limit=13) == 'x "' + DEFAULT_MASK


def test_ordinary_text_is_left_alone() -> None:
    body = json.dumps({"ok": True, "message": "Accepted, thanks!", "id": "evt_123"})
    assert masked_excerpt(body, ["tok-0123456789abcdef"]) == body
    assert masked_excerpt(body, []) == body
    assert masked_excerpt("a" * 5000, ["zzzzzzzz"], limit=10) == "a" * 10


def test_a_secret_containing_the_mask_character_gets_another_mask() -> None:
    secret = "••••••x••"
    out = masked_excerpt(f"[{secret}]", [secret], limit=None)
    assert secret not in out
    assert out.startswith("[") and out.endswith("]")


def test_long_runs_of_backslashes_do_not_backtrack_forever() -> None:
    secret = "\\" * 40 + "x"
    text = "\\" * 20000 + "y"
    out = masked_excerpt(text, [secret])
    assert out.endswith(DEFAULT_MASK)  # the cut ends in what could begin the secret
    assert not out.endswith("\\" * MIN_PREFIX)
    assert masked_excerpt(json.dumps(secret), [secret], limit=None) == f'"{DEFAULT_MASK}"'


def test_a_text_of_runs_of_the_secrets_own_characters_is_masked_at_the_cut() -> None:
    """The search for a beginning at the cut has a budget; past it, everything that could
    hold one is masked (too much, never too little)."""
    secret = "ü" * 300 + "x"
    out = masked_excerpt("ü" * 3000, [secret], limit=2048)
    assert out.endswith(DEFAULT_MASK) and not out.endswith("ü" * MIN_PREFIX)
    assert not leaks(out, secret)
