"""API Gateway's own answers (infra/gateway_responses.py): each mapping template renders the API's error shape
whatever API Gateway's message holds, none can quote a request's token, and `make deploy` sets only what
differs and deploys the stage only then. Against the emulator in tests/e2e/test_deploy_rehearsal.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra import gateway_responses
from infra.gateway_responses import ANSWERS, GATEWAY_MESSAGE, NOT_FOUND


@pytest.mark.parametrize("kind", sorted(ANSWERS))
def test_each_template_is_the_error_shape_once_api_gateway_fills_in_its_message(kind):
    answer = ANSWERS[kind]
    template = answer.wanted()["responseTemplates"]["application/json"]
    static = template.replace(GATEWAY_MESSAGE, "")
    assert "$" not in static and "#" not in static  # VTL would read them as references or directives
    # $context.error.messageString is the message quoted and escaped: a hostile one stays a JSON string.
    rendered = template.replace(GATEWAY_MESSAGE, json.dumps('He said "hi" \\ </script>'))
    body = json.loads(rendered)
    assert set(body) == {"error"} and body["error"]["code"] == answer.code
    assert body["error"]["message"] == (answer.message or 'He said "hi" \\ </script>')
    assert answer.wanted()["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == "'*'"


def test_the_kinds_that_quote_a_token_by_default_get_a_fixed_message_and_404():
    for kind in ("MISSING_AUTHENTICATION_TOKEN", "INVALID_SIGNATURE"):
        assert ANSWERS[kind] is NOT_FOUND and NOT_FOUND.message and GATEWAY_MESSAGE not in ANSWERS[kind].template()
        assert ANSWERS[kind].wanted()["statusCode"] == "404"
    assert "statusCode" not in ANSWERS["DEFAULT_4XX"].wanted()  # each keeps the status API Gateway chose
    assert ANSWERS["THROTTLED"].wanted()["responseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"
    assert json.loads(NOT_FOUND.body()) == {"error": {"code": "not_found", "message": NOT_FOUND.message}}


class FakeGateway:
    """API Gateway's gateway responses as AWS reports them: every kind exists, as its default until set."""

    class exceptions:
        class NotFoundException(Exception):
            pass

    def __init__(self) -> None:
        self.set: dict[str, dict[str, Any]] = {}
        self.deployments: list[str] = []

    def get_gateway_response(self, restApiId: str, responseType: str) -> dict[str, Any]:
        return self.set.get(responseType, {"responseType": responseType, "defaultResponse": True,
                                           "statusCode": "403"})

    def put_gateway_response(self, restApiId: str, responseType: str, **wanted: Any) -> None:
        # AWS reports a status for a kind set without one: it must not count as a difference.
        self.set[responseType] = {"responseType": responseType, "defaultResponse": False,
                                  "statusCode": "400", **wanted}

    def create_deployment(self, restApiId: str, stageName: str, description: str) -> None:
        self.deployments.append(stageName)


def test_deploy_sets_what_differs_and_deploys_the_stage_only_then():
    gateway, said = FakeGateway(), list[str]()
    assert gateway_responses.apply(gateway, "rest1", "api", said.append) == len(ANSWERS)
    assert gateway.deployments == ["api"] and set(gateway.set) == set(ANSWERS)
    assert gateway_responses.apply(gateway, "rest1", "api", said.append) == 0
    assert gateway.deployments == ["api"]
    gateway.set["THROTTLED"]["responseTemplates"] = {"application/json": "{}"}  # changed by hand in the console
    del gateway.set["REQUEST_TOO_LARGE"]  # reset: Chalice's import of a new definition
    assert gateway_responses.apply(gateway, "rest1", "api", said.append) == 2
    assert gateway.deployments == ["api", "api"]
