"""Request bodies refuse numbers beyond a double whether or not each number is checked:
``parse_json_object`` checks them one by one only in bodies that may hold one (a run
of 100 digits, or an exponent of 3 digits), and must answer exactly as checking every
number does."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.api import (
    NumberTooLargeError,
    _double_sized_int,
    _finite_float,
    _reject_constant,
    parse_json_object,
)


def checking_every_number(body: bytes) -> Any:
    return json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float,
                      parse_int=_double_sized_int)


def outcome(parse: Any, body: bytes) -> Any:
    try:
        return parse(body)
    except NumberTooLargeError:
        return "too large"
    except ValueError:
        return "not json"


@pytest.mark.parametrize("number", [
    "1e309", "1E+309", "-1e0309", "1.5e400", "1" + "0" * 309, "-" + "9" * 400,
    "1" * 250 + "e99", "0." + "0" * 100 + "1e500", "17976931348623159" + "0" * 292,
])
def test_numbers_beyond_a_double_are_refused(number: str) -> None:
    with pytest.raises(NumberTooLargeError):
        parse_json_object(f'{{"rows": [{{"step": 1, "metrics": {{"m": {number}}}}}]}}'.encode())


@pytest.mark.parametrize("number", [
    "1.7976931348623157e308", "1e308", "-1e-400", "0.0", "1e99", "9" * 99, "1" * 200 + "e-100",
])
def test_numbers_a_double_holds_are_taken(number: str) -> None:
    body = f'{{"n": {number}}}'.encode()
    assert parse_json_object(body) == checking_every_number(body)


numbers = st.builds(
    lambda sign, whole, fraction, exponent: sign + whole + fraction + exponent,
    st.sampled_from(["", "-"]),
    st.one_of(st.just("0"), st.from_regex(r"[1-9][0-9]{0,350}", fullmatch=True)),
    st.one_of(st.just(""), st.from_regex(r"\.[0-9]{1,120}", fullmatch=True)),
    st.one_of(st.just(""), st.from_regex(r"[eE][+-]?0{0,3}[0-9]{1,4}", fullmatch=True)),
)


# A busy shared machine: the point is the answers, not the time.
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(numbers, min_size=1, max_size=5), st.text("0123456789eE+-. ab", max_size=150))
def test_any_body_is_answered_as_checking_every_number_answers(
    values: list[str], text: str
) -> None:
    # Text with digits and e's: strings may make a body look as if it held a huge number.
    body = ('{"values": [' + ", ".join(values) + "], " + '"text": ' + json.dumps(text) + "}")
    encoded = body.encode()

    assert outcome(parse_json_object, encoded) == outcome(checking_every_number, encoded)
