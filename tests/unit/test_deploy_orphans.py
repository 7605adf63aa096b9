"""What make deploy and make destroy sweep as a stage's own (infra/orphans.py): resources a killed deploy left
without a record, found by what they invoke and by exact names, never another stage's (stage names may hold
hyphens: stage prod's prefix begins every name of stage prod-eu)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from infra import orphans


def test_unrecorded_apis_and_triggers_of_the_stage_are_found_by_what_they_invoke():
    deleted: list[str] = []
    fn = "arn:aws:lambda:eu-west-1:1:function:kalexo-prod"
    mappings = [{"UUID": "keep", "FunctionArn": f"{fn}-tile_pages"},
                {"UUID": "orphan", "FunctionArn": f"{fn}-ingest_uploads"},
                {"UUID": "other", "FunctionArn": "arn:aws:lambda:eu-west-1:1:function:kalexo-prod2-tile_pages"},
                # stage prod-eu's names begin with stage prod's prefix: never prod's
                {"UUID": "hyphened", "FunctionArn": "arn:aws:lambda:eu-west-1:1:function:kalexo-prod-eu-tile_pages"},
                {"UUID": "hyphened-rest", "FunctionArn": "arn:aws:lambda:eu-west-1:1:function:kalexo-prod-eu"}]
    uri = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/{}/invocations"
    apis = {"a1": uri.format(fn), "a2": uri.format(fn), "b1": uri.format(fn + "2"), "b2": uri.format(fn + "-eu"),
            "b3": uri.format(fn + "-eu-api_handler")}
    clients: dict[str, Any] = {
        "lambda": SimpleNamespace(list_event_source_mappings=lambda: {"EventSourceMappings": mappings},
                                  delete_event_source_mapping=lambda **kw: deleted.append(kw["UUID"])),
        "apigateway": SimpleNamespace(
            get_rest_apis=lambda limit: {"items": [{"id": k, "name": "kalexo"} for k in apis]},
            get_resources=lambda restApiId, limit, embed: {"items": [{"resourceMethods": {"GET": {
                "methodIntegration": {"uri": apis[restApiId]}}}}]},
            delete_rest_api=lambda **kw: deleted.append(kw["restApiId"])),
        "apigatewayv2": SimpleNamespace(get_apis=lambda: {"Items": [
            {"Name": "kalexo-prod-websocket-api", "ApiId": "w1"}, {"Name": "kalexo-prod-websocket-api", "ApiId": "w2"},
            {"Name": "kalexo-prod2-websocket-api", "ApiId": "w3"},
            {"Name": "kalexo-prod-eu-websocket-api", "ApiId": "w4"}]},
            delete_api=lambda **kw: deleted.append(kw["ApiId"])),
    }
    record = {"resources": [{"name": "rest_api", "rest_api_id": "a1"}, {"name": "ws", "websocket_api_id": "w1"},
                            {"name": "tile_pages-sqs-event-source", "event_uuid": "keep"}]}
    assert orphans.sweep(clients.__getitem__, "prod", record, lambda _: None) == 3
    assert deleted == ["orphan", "a2", "w2"]


def test_destroy_sweeps_the_stages_own_functions_and_roles_and_not_a_hyphened_stages():
    deleted: list[str] = []
    functions = ["kalexo-prod", "kalexo-prod-tile_pages", "kalexo-prod-websocket_message", "kalexo-prod-eu",
                 "kalexo-prod-eu-tile_pages", "kalexo-prod2-tile_pages", "kalexo-production"]
    roles = ["kalexo-prod-api_handler", "kalexo-prod-tile_pages", "kalexo-prod-eu-tile_pages",
             "kalexo-prod-eu-api_handler", "kalexo-prodx"]
    pages = {"list_functions": [{"Functions": [{"FunctionName": n} for n in functions]}],
             "list_roles": [{"Roles": [{"RoleName": n} for n in roles]}]}
    paginator = SimpleNamespace(get_paginator=lambda op: SimpleNamespace(paginate=lambda: pages[op]))
    clients: dict[str, Any] = {
        "lambda": SimpleNamespace(get_paginator=paginator.get_paginator,
                                  delete_function=lambda **kw: deleted.append(kw["FunctionName"])),
        "iam": SimpleNamespace(get_paginator=paginator.get_paginator,
                               list_role_policies=lambda RoleName: {"PolicyNames": []},
                               delete_role_policy=lambda **kw: None,
                               delete_role=lambda **kw: deleted.append(kw["RoleName"])),
    }
    assert orphans.sweep_functions(clients.__getitem__, "prod", lambda _: None) == 5
    assert deleted == ["kalexo-prod", "kalexo-prod-tile_pages", "kalexo-prod-websocket_message",
                       "kalexo-prod-api_handler", "kalexo-prod-tile_pages"]
