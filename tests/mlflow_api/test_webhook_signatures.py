"""MLflow-style signatures as an option of webhook integrations: the headers a
receiver written for MLflow's webhooks verifies, beside the Standard Webhooks ones."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from django.urls import reverse
from standardwebhooks import Webhook

from automations.actions import action_for
from teams.models import Integration, Team


def mlflow_verify(secret: str, headers: dict[str, str], body: str) -> bool:
    """What MLflow's documented receiver does, written here independently."""
    signed = f"{headers['X-MLflow-Delivery-Id']}.{headers['X-MLflow-Timestamp']}.{body}"
    expected = base64.b64encode(
        hmac.new(secret.encode("utf-8"), signed.encode("utf-8"), hashlib.sha256).digest()
    ).decode()
    version, _, signature = headers["X-MLflow-Signature"].partition(",")
    return version == "v1" and hmac.compare_digest(signature, expected)


def make_hook(team: Team, mlflow_signatures: bool) -> Integration:
    return Integration.objects.create(
        team=team, kind="webhook", name=f"hook-{mlflow_signatures}",
        url="https://hooks.example.com/in", mlflow_signatures=mlflow_signatures,
    )


def test_mlflow_signatures_verify_beside_standard_webhooks(team: Team) -> None:
    hook = make_hook(team, True)
    body = '{"text":"run failed","value":1}'
    headers = action_for(hook).headers(body, "msg_abc")
    assert headers["X-MLflow-Delivery-Id"] == headers["webhook-id"] == "msg_abc"
    assert headers["X-MLflow-Timestamp"] == headers["webhook-timestamp"]
    assert mlflow_verify(hook.signing_secret, headers, body)
    assert not mlflow_verify(hook.signing_secret, headers, body + " ")
    assert not mlflow_verify("whsec_other", headers, body)
    Webhook(hook.signing_secret).verify(body, headers)  # Standard Webhooks still verify


def test_without_the_option_no_mlflow_headers_are_sent(team: Team) -> None:
    headers = action_for(make_hook(team, False)).headers("{}", "msg_1")
    assert not any(k.startswith("X-MLflow") for k in headers)


def test_the_option_through_the_api(admin_api: Any) -> None:
    created = admin_api.post("/teams/acme/integrations", json={
        "kind": "webhook", "name": "ml", "url": "https://hooks.example.com/x",
        "mlflow_signatures": True,
    })
    assert created.status_code == 201, created.content
    assert created.json()["mlflow_signatures"] is True
    patched = admin_api.patch("/teams/acme/integrations/ml", json={"mlflow_signatures": False})
    assert patched.json()["mlflow_signatures"] is False
    assert Integration.objects.get(name="ml").mlflow_signatures is False
    wrong = admin_api.post("/teams/acme/integrations", json={
        "kind": "webhook", "name": "ml2", "url": "https://hooks.example.com/x",
        "mlflow_signatures": "yes",
    })
    assert wrong.status_code == 400
    slack = admin_api.post("/teams/acme/integrations", json={
        "kind": "slack", "name": "sl", "workspace": "acme", "channel": "#ml",
        "webhook_url_secret": "NOPE", "mlflow_signatures": True,
    })
    assert slack.status_code == 400
    assert "mlflow_signatures" in slack.json()["error"]["fields"]


def test_the_option_on_the_integration_form(client_for: Any, admin: Any) -> None:
    browser = client_for(admin)
    url = reverse("integration_new", args=["acme", "webhook"])
    page = browser.get(url)
    assert page.status_code == 200 and 'name="mlflow_signatures"' in page.content.decode()
    browser.post(url, {"name": "form-hook", "url": "https://hooks.example.com/f",
                       "mlflow_signatures": "on"})
    assert Integration.objects.get(name="form-hook").mlflow_signatures is True
