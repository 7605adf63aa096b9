"""The AWS APIs `make deploy` (and `chalice deploy` in it) use, where moto 5.2 falls short: the deploy rehearsal
runs the real deploy against the emulator, so these gaps are closed here, in local tooling, never in the app.

API Gateway (REST): Chalice creates and updates its REST API from a Swagger 2.0 document (`ImportRestApi`,
then `PutRestApi` with `mode=overwrite`). moto 5.2 imports only OpenAPI 3 and requires `info.description`:
for a Swagger 2.0 body it answers 500 (KeyError) on import and `BadRequest` on put, so `chalice deploy` stops
before its first route. API Gateway itself accepts both. The two documents describe paths, methods and
`x-amazon-apigateway-integration` the same way, which is all moto reads, so a Swagger 2.0 body is handed to
moto's own importer as it is, with the version moto checks for (and the empty `uri` and `httpMethod` moto
needs on a MOCK integration); the binary media types Swagger 2.0 lists at the top level are applied too (API
Gateway reads `x-amazon-apigateway-binary-media-types`, moto does not).

API Gateway v2 (websocket) deployments and Lambda's ephemeral storage updates: below.
"""

from __future__ import annotations

from typing import Any


def _as_moto_reads_it(api_doc: dict[str, Any]) -> dict[str, Any]:
    if "swagger" not in api_doc:
        return api_doc
    doc = {key: value for key, value in api_doc.items() if key != "swagger"}
    doc["openapi"] = "3.0.1"
    doc["info"] = {"description": "", **api_doc.get("info", {})}
    # moto's put_integration requires both; a MOCK integration (Chalice's CORS preflights) has neither.
    doc["paths"] = {path: {verb: _with_uri_and_method(method) for verb, method in methods.items()}
                    for path, methods in api_doc.get("paths", {}).items()}
    return doc


def _with_uri_and_method(method: Any) -> Any:
    integration = method.get("x-amazon-apigateway-integration") if isinstance(method, dict) else None
    if not integration:
        return method
    # API Gateway reports integration types upper-case whatever the document says (Chalice writes aws_proxy).
    return {**method, "x-amazon-apigateway-integration": {"uri": "", "httpMethod": "", **integration,
                                                          "type": str(integration.get("type", "")).upper()}}


def install() -> None:
    from moto.apigateway.models import APIGatewayBackend

    original_import = APIGatewayBackend.import_rest_api
    original_put = APIGatewayBackend.put_rest_api

    def import_rest_api(self: Any, api_doc: dict[str, Any], fail_on_warnings: bool) -> Any:
        api = original_import(self, _as_moto_reads_it(api_doc), fail_on_warnings)
        api.binaryMediaTypes = list(api_doc.get("x-amazon-apigateway-binary-media-types", api.binaryMediaTypes))
        return api

    def put_rest_api(self: Any, function_id: str, api_doc: dict[str, Any], fail_on_warnings: bool,
                     mode: str = "merge") -> Any:
        api = original_put(self, function_id, _as_moto_reads_it(api_doc), fail_on_warnings, mode)
        if "x-amazon-apigateway-binary-media-types" in api_doc:
            api.binaryMediaTypes = list(api_doc["x-amazon-apigateway-binary-media-types"])
        return api

    APIGatewayBackend.import_rest_api = import_rest_api  # type: ignore[method-assign]
    APIGatewayBackend.put_rest_api = put_rest_api  # type: ignore[method-assign]
    install_websocket_deployments()
    install_function_ephemeral_storage()


def install_websocket_deployments() -> None:
    """moto 5.2's API Gateway v2 has stages but no `CreateDeployment` (404), which `chalice deploy` calls once
    per deploy of the websocket API. A deployment is recorded on the API and named by the stage Chalice then
    creates (its `DeploymentId`); `GetDeployments` lists them, as the rehearsal's assertions read them."""
    import json
    import uuid

    from moto.apigatewayv2 import urls
    from moto.apigatewayv2.responses import ApiGatewayV2Response

    def create_deployment(self: Any) -> Any:
        api_id = self.path.split("/")[-2]
        api = self.apigatewayv2_backend.get_api(api_id)  # NotFound for an unknown API, as AWS answers
        body = json.loads(self.body or "{}")
        deployment = {"deploymentId": uuid.uuid4().hex[:10], "deploymentStatus": "DEPLOYED",
                      "description": body.get("description", ""), "autoDeployed": False}
        api.__dict__.setdefault("kalexo_deployments", []).append(deployment)
        return 201, {}, json.dumps(deployment)

    def get_deployments(self: Any) -> Any:
        api = self.apigatewayv2_backend.get_api(self.path.split("/")[-2])
        return 200, {}, json.dumps({"items": api.__dict__.get("kalexo_deployments", [])})

    ApiGatewayV2Response.create_deployment = create_deployment  # type: ignore[attr-defined]
    ApiGatewayV2Response.get_deployments = get_deployments  # type: ignore[attr-defined]
    urls.url_paths["{0}/v2/apis/(?P<api_id>[^/]+)/deployments$"] = ApiGatewayV2Response.dispatch


def install_function_ephemeral_storage() -> None:
    """moto 5.2's UpdateFunctionConfiguration drops `EphemeralStorage` (CreateFunction keeps it): make deploy
    sizes the imaging functions' /tmp that way, since Chalice's config has no setting for it."""
    from moto.awslambda.models import LambdaFunction

    original = LambdaFunction.update_configuration

    def update_configuration(self: Any, config_updates: dict[str, Any]) -> Any:
        storage = config_updates.get("EphemeralStorage")
        if storage:
            self.ephemeral_storage = int(storage["Size"])
        return original(self, config_updates)

    LambdaFunction.update_configuration = update_configuration  # type: ignore[method-assign]
