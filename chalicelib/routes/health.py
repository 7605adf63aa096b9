"""GET /health: is every component of this stage reachable and working?

Anyone may ask whether the service is up; the per-component figures (latencies, queue depths, errors) are
for platform admins only, so the public answer names nothing an attacker could use.
"""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.container import get_container
from chalicelib.domain.errors import ApiError

bp = Blueprint(__name__)


def _bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


@bp.route("/health", methods=["GET"], cors=True)
def health() -> Response:
    container = get_container()
    report = container.health.report()
    detailed = False
    token = _bearer(bp.current_request.headers.get("authorization"))
    if token:
        try:
            detailed = container.access.authenticate(token).is_platform_admin
        except ApiError:
            detailed = False
    body = report.to_dict(detailed=detailed)
    return Response(status_code=200 if report.ok else 503, body=body,
                    headers={"Content-Type": "application/json", "Cache-Control": "no-store"})
