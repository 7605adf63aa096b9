"""GET /health: is every component of this stage reachable and working?

Anyone may ask whether the service is up; the per-component figures (latencies, queue depths, errors) are
for platform admins only, so the public answer names nothing an attacker could use.
"""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.container import get_container
from chalicelib.domain.errors import ApiError
from chalicelib.routes.api import bearer_token

bp = Blueprint(__name__)


@bp.route("/health", methods=["GET"], cors=True)
def health() -> Response:
    container = get_container()
    report = container.health.report()
    detailed = False
    token = bearer_token(bp.current_request.headers)
    if token:
        try:
            detailed = container.access.authenticate(token).is_platform_admin
        except ApiError:
            detailed = False
    body = report.to_dict(detailed=detailed)
    return Response(status_code=200 if report.ok else 503, body=body,
                    headers={"Content-Type": "application/json", "Cache-Control": "no-store"})
