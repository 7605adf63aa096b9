"""Kalexo Teamwork: wiring only. Routes and handlers live in chalicelib/routes; this file assembles them."""

from chalice import Chalice

from chalicelib.observability import observability_middleware
from chalicelib.routes import health, ingest, websocket

app = Chalice(app_name="kalexo")
# Chalice still labels websocket support experimental; it is what API Gateway websockets deploy with.
app.experimental_feature_flags.update(["WEBSOCKETS"])
app.register_middleware(observability_middleware, "all")
app.register_blueprint(health.bp)
app.register_blueprint(websocket.bp)
app.register_blueprint(ingest.bp)
websocket.configure_websocket_api(app)
