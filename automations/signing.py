"""Delivery signatures: Standard Webhooks headers and W&B's ``X-Wandb-Signature``.

Standard Webhooks (https://www.standardwebhooks.com): the signed content is
``f"{webhook_id}.{timestamp}.{body}"``, HMAC-SHA256 keyed with the base64-decoded
part of the ``whsec_`` secret, sent as ``webhook-signature: v1,<base64>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time

SECRET_PREFIX = "whsec_"


def signing_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret.

    Decoded the way the reference ``standardwebhooks`` library decodes it
    (padding added, characters outside the base64 alphabet skipped), so that
    every secret Beacon ever generated verifies there."""
    raw = secret[len(SECRET_PREFIX):] if secret.startswith(SECRET_PREFIX) else secret
    try:
        key = base64.b64decode(raw + "==")
    except (binascii.Error, ValueError):
        key = b""
    if not key:
        raise ValueError("The signing secret is empty or not base64.")
    return key


def standard_signature(secret: str, webhook_id: str, timestamp: int, body: str) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``f"{webhook_id}.{timestamp}.{body}"``."""
    content = f"{webhook_id}.{timestamp}.{body}".encode()
    digest = hmac.new(signing_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def standard_headers(
    secret: str, webhook_id: str, body: str, *, timestamp: int | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers for one delivery of ``body``."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": standard_signature(secret, webhook_id, ts, body),
    }


def mlflow_headers(
    secret: str, delivery_id: str, body: str, *, timestamp: int
) -> dict[str, str]:
    """MLflow's webhook headers: ``X-MLflow-Signature: v1,<base64 HMAC-SHA256>`` of
    ``f"{delivery_id}.{timestamp}.{body}"``, keyed with the secret's UTF-8 text as
    MLflow's receivers expect (the whole ``whsec_…`` string)."""
    content = f"{delivery_id}.{timestamp}.{body}".encode()
    digest = hmac.new(secret.encode(), content, hashlib.sha256).digest()
    return {
        "X-MLflow-Delivery-Id": delivery_id,
        "X-MLflow-Timestamp": str(timestamp),
        "X-MLflow-Signature": "v1," + base64.b64encode(digest).decode(),
    }


def wandb_signature(payload_secret: str, body: str) -> str:
    """W&B's ``X-Wandb-Signature``: base64 HMAC-SHA256 of the body keyed with the secret."""
    digest = hmac.new(payload_secret.encode(), body.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()
