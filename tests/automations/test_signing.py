from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from automations.signing import standard_headers, wandb_signature
from teams.models import generate_signing_secret


def test_standard_webhooks_library_verifies_the_signature() -> None:
    secret = generate_signing_secret()
    body = json.dumps({"run": "sweep-1", "text": "héllo \"}{"})
    headers = standard_headers(secret, "msg_abc123", body)

    assert Webhook(secret).verify(body, headers) == json.loads(body)
    assert headers["webhook-id"] == "msg_abc123"
    assert headers["webhook-signature"].startswith("v1,")


@pytest.mark.parametrize("secret", [generate_signing_secret() for _ in range(20)])
def test_every_generated_secret_verifies(secret: str) -> None:
    body = '{"a":1}'
    Webhook(secret).verify(body, standard_headers(secret, "msg_1", body))


def test_a_tampered_body_or_another_secret_does_not_verify() -> None:
    secret = generate_signing_secret()
    headers = standard_headers(secret, "msg_1", '{"a":1}')

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify('{"a":2}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_signing_secret()).verify('{"a":1}', headers)


def test_the_timestamp_is_now_and_signed() -> None:
    secret = generate_signing_secret()
    headers = standard_headers(secret, "msg_1", "{}", timestamp=int(time.time()) - 3600)

    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify("{}", headers)
    assert abs(int(standard_headers(secret, "msg_1", "{}")["webhook-timestamp"]) - time.time()) < 5


def test_wandb_signature_is_base64_hmac_of_the_body_with_the_payload_secret() -> None:
    expected = base64.b64encode(
        hmac.new(b"s3cret", b'{"x":1}', hashlib.sha256).digest()
    ).decode()

    assert wandb_signature("s3cret", '{"x":1}') == expected
    assert wandb_signature("other", '{"x":1}') != expected
