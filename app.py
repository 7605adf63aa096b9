"""Kalexo Teamwork: wiring only. Handlers live in chalicelib/routes; this file assembles them.

Every function's instance imports this module (Chalice's one-app model), but the websocket functions never route
a REST request or an event: their configuration says so (`KALEXO_SERVES=websocket`, per function in
.chalice/config.json) and they skip the REST and event blueprints (their modules, schemas and 405 views: about
10 ms of every websocket cold start, docs/benchmarks.md, "Cold start"). Unset, as when Chalice packages or deploys
the app, in the local stack and in the tests, every handler is registered.
"""

import os

from chalice.app import Chalice, Response, WebsocketEvent

from chalicelib.observability import observability_middleware
from chalicelib.routes import websocket
from chalicelib.routes.chalice_errors import error_shape_middleware

app = Chalice(app_name="kalexo")
# Chalice still labels websocket support experimental; it is what API Gateway websockets deploy with.
app.experimental_feature_flags.update(["WEBSOCKETS"])
app.register_middleware(observability_middleware, "all")
app.register_middleware(error_shape_middleware, "http")
# Tiles are binary answers; API Gateway passes them through when the request's *first* Accept type is listed
# here, and browsers ask for images with image/avif (Chrome, Firefox) or image/webp (Safari) first.
app.api.binary_types.extend(["image/webp", "image/avif", "image/*"])
if os.environ.get("KALEXO_SERVES", "all") != "websocket":
    from chalicelib.routes import (
        admin_accounts,
        admin_workspaces,
        documents,
        events,
        fanout,
        health,
        ingest,
        maintenance,
        members,
        openapi,
        tiles,
    )
    from chalicelib.routes.not_allowed import answer_unsupported_methods

    for blueprint in (health, admin_accounts, admin_workspaces, members, documents, tiles, events, openapi, ingest,
                      fanout, maintenance):
        app.register_blueprint(blueprint.bp)
    answer_unsupported_methods(app)  # 405 with Allow, on API Gateway as locally (after every route is declared)
websocket.configure_websocket_api(app)


# Websocket handlers must be registered on the app itself (see chalicelib/routes/websocket.py).
@app.on_ws_connect()
def ws_connect(event: WebsocketEvent) -> Response:
    return websocket.connect(event)


@app.on_ws_message()
def ws_message(event: WebsocketEvent) -> None:
    websocket.message(event)


@app.on_ws_disconnect()
def ws_disconnect(event: WebsocketEvent) -> None:
    websocket.disconnect(event)
