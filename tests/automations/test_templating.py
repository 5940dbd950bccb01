"""${var} templates inside JSON values: rendering, validation, masking, injection safety."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from automations.templating import mask_secrets, referenced, render, render_text, validate

VARS = {"run_name": "sweep-7", "metric_value": "2.31", "alias": "production"}


# --- render --------------------------------------------------------------------------


def test_render_substitutes_inside_string_values_only() -> None:
    template = {
        "text": "${run_name}: ${metric_value}",
        "${run_name}": "key stays",
        "nested": [{"alias": "${alias}"}, 3, 2.5, True, None],
    }
    assert render(template, VARS) == {
        "text": "sweep-7: 2.31",
        "${run_name}": "key stays",
        "nested": [{"alias": "production"}, 3, 2.5, True, None],
    }


def test_render_does_not_modify_the_template() -> None:
    template = {"a": ["${alias}"]}
    render(template, VARS)
    assert template == {"a": ["${alias}"]}


def test_render_keeps_a_value_that_looks_like_json_literal() -> None:
    payload = render({"text": "run ${run_name}"}, {"run_name": '"},{"injected": true, "x":"'})
    assert payload == {"text": 'run "},{"injected": true, "x":"'}
    assert list(json.loads(json.dumps(payload))) == ["text"]


def test_substitution_is_one_pass() -> None:
    variables = {"run_name": "${alias}", "alias": "production"}
    assert render_text("${run_name} / ${alias}", variables) == "${alias} / production"


def test_unknown_variables_are_left_as_written() -> None:
    assert render_text("${nope} and ${alias}", VARS) == "${nope} and production"


def test_escape_writes_a_literal_variable() -> None:
    assert render_text("$${alias} is ${alias}", VARS) == "${alias} is production"
    assert render_text("cost: $5 and $$ and ${alias}$", VARS) == "cost: $5 and $$ and production$"


def test_artifact_metadata_variables() -> None:
    variables = {"artifact_metadata.accuracy": "0.93", "artifact_metadata.my key": "x"}
    text = (
        "acc=${artifact_metadata.accuracy} k=${artifact_metadata.my key} "
        "m=[${artifact_metadata.missing}]"
    )
    assert render_text(text, variables) == "acc=0.93 k=x m=[]"


def test_render_text_of_empty_template() -> None:
    assert render_text("", VARS) == ""


# --- referenced / validate -----------------------------------------------------------


def test_referenced_lists_names_in_values() -> None:
    template = {"a": "${run_name} ${alias}", "${url}": ["${artifact_metadata.k}", 1], "e": "$${x}"}
    assert referenced(template) == {"run_name", "alias", "artifact_metadata.k"}


def test_validate_accepts_known_variables() -> None:
    assert validate({"t": "${run_name} ${alias}"}, ["run_name", "alias"]) == []
    assert validate("plain text, $5, $${escaped}", ["run_name"]) == []


def test_validate_lists_available_variables_for_unknown_ones() -> None:
    errors = validate({"t": "${foo} ${run_name} ${foo}"}, ["run_name", "url"])
    assert errors == ["Unknown variable ${foo}. Available: ${run_name}, ${url}."]


def test_validate_metadata_prefix() -> None:
    allowed = ["url", "artifact_metadata."]
    assert validate("${artifact_metadata.accuracy}", allowed) == []
    errors = validate("${artifact_metadata.accuracy}", ["url"])
    assert errors == ["Unknown variable ${artifact_metadata.accuracy}. Available: ${url}."]
    assert "${artifact_metadata.KEY}" in validate("${nope}", allowed)[0]


def test_validate_reports_malformed_names() -> None:
    errors = validate("${run-name}", ["run_name"])
    assert len(errors) == 1
    assert errors[0].startswith("Invalid variable ${run-name}")
    assert "${run_name}" in errors[0]


def test_validate_secret_names_only_when_supplied() -> None:
    assert validate({"auth": "${ACCESS_TOKEN}"}, ["ACCESS_TOKEN"]) == []
    assert validate({"auth": "${ACCESS_TOKEN}"}, ["url"]) != []


# --- mask_secrets --------------------------------------------------------------------


def test_mask_secrets_inside_strings() -> None:
    payload = {
        "auth": "Bearer tok-123",
        "list": ["x tok-123 y", 5, None, {"deep": "sk-abc"}],
        "tok-123": "key is masked too",
    }
    masked = mask_secrets(payload, ["tok-123", "sk-abc", ""])
    assert masked == {
        "auth": "Bearer ••••••",
        "list": ["x •••••• y", 5, None, {"deep": "••••••"}],
        "••••••": "key is masked too",
    }
    assert "tok-123" not in json.dumps(masked)


def test_mask_prefers_the_longest_secret() -> None:
    assert mask_secrets("abcdef", ["abc", "abcdef"], mask="*") == "*"


def test_mask_with_special_characters() -> None:
    assert mask_secrets("a.b\\1 (x)", [".b\\1 (x"], mask="\\g<0>") == "a\\g<0>)"


def test_mask_without_secrets_returns_value() -> None:
    assert mask_secrets({"a": "b"}, []) == {"a": "b"}


# --- properties ----------------------------------------------------------------------

NAMES = ["run_name", "alias", "metric_value", "artifact_metadata.k"]
# Variable values full of JSON syntax, template syntax, escapes and unicode.
nasty_text = st.lists(
    st.sampled_from(['"', "}", "{", "$", "\\", "${run_name}", "$${", "\n", "é", "😀", "a", ","])
    | st.characters(),
    max_size=15,
).map("".join)
# Literal pieces of a template: no "$", so every "${" in a template is one we placed.
literal = st.text(alphabet=st.characters(blacklist_characters="$"), max_size=10)
piece = st.tuples(st.just("lit"), literal) | st.tuples(st.just("var"), st.sampled_from(NAMES))
template_string = st.lists(piece, max_size=6)


def as_template(pieces: list[tuple[str, str]]) -> str:
    return "".join(text if kind == "lit" else "${" + text + "}" for kind, text in pieces)


def expected(pieces: list[tuple[str, str]], variables: dict[str, str]) -> str:
    return "".join(text if kind == "lit" else variables[text] for kind, text in pieces)


def templates(strings: Any) -> Any:
    scalars = strings | st.integers() | st.floats(allow_nan=False) | st.booleans() | st.none()
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=12,
    )


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


variables_strategy = st.fixed_dictionaries({name: nasty_text for name in NAMES})


@settings(max_examples=300, deadline=None)
@given(template=templates(template_string.map(as_template)), variables=variables_strategy)
def test_rendering_never_changes_the_structure(template: Any, variables: dict[str, str]) -> None:
    rendered = render(template, variables)
    reparsed = json.loads(json.dumps(rendered))
    assert shape(reparsed) == shape(json.loads(json.dumps(template)))


@settings(max_examples=300, deadline=None)
@given(pieces=template_string, variables=variables_strategy)
def test_values_are_substituted_literally_exactly_once(
    pieces: list[tuple[str, str]], variables: dict[str, str]
) -> None:
    assert render({"t": as_template(pieces)}, variables) == {"t": expected(pieces, variables)}
    assert render_text(as_template(pieces), variables) == expected(pieces, variables)


def strings_of(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [*strings_of(k), *strings_of(v)]]
    if isinstance(value, list):
        return [s for item in value for s in strings_of(item)]
    return []


@settings(max_examples=200, deadline=None)
@given(
    value=templates(nasty_text),
    secret=st.text(alphabet=st.characters(blacklist_characters="•"), min_size=3, max_size=12),
)
def test_masked_values_never_contain_the_secret(value: Any, secret: str) -> None:
    planted = [f"<{secret}>", value]
    masked = mask_secrets(planted, [secret])
    assert all(secret not in text for text in strings_of(masked))
    assert "••••••" in masked[0]
    if not any(secret in text for text in strings_of(value)):
        assert masked[1] == value
