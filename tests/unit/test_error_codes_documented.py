"""Every error code the service can answer is documented, and every documented one is still answered.

A doc-only client found eleven REST codes (`page_not_ready`, `upload_gone`, ...) that no page listed, so a
client could not know to expect them: docs/errors.md lists the REST API's, docs/protocol.md the websocket's.
The codes are read from the source as the code raises them (`code="..."`, the error classes' defaults,
`error_response(...)`, API Gateway's answers, `OpError(...)`), so a new one fails here until it is written down.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*sorted((ROOT / "chalicelib").rglob("*.py")), ROOT / "app.py", ROOT / "infra" / "gateway_responses.py"]
PATTERNS = (
    re.compile(r'\bcode="([a-z_]+)"'),
    re.compile(r'status, code = \d+, "([a-z_]+)"'),
    re.compile(r'error_response\(\d+, "([a-z_]+)"'),
    re.compile(r'GatewayAnswer\((?:\d+|None), "([a-z_]+)"'),
    re.compile(r'OpError\("([a-z_]+)"'),
    re.compile(r'Refusal\(\d+, "([a-z_]+)"'),
    re.compile(r'AuthError\("([a-z_]+)"'),
    re.compile(r'ProtocolError\("([a-z_]+)"'),
    re.compile(r'super\(\).__init__\("([a-z_]+)"'),
)
# Chalice answers these itself (chalicelib/routes/chalice_errors.py gives them the API's shape, its names in
# snake case): they are in no pattern above.
FROM_CHALICE = {"unsupported_media_type", "internal_server_error"}
NOT_ERRORS = {"code"}  # `code="code"` nowhere; a guard against a pattern reading a variable's name


def _raised() -> set[str]:
    codes = set(FROM_CHALICE)
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        for pattern in PATTERNS:
            codes.update(pattern.findall(text))
    return codes - NOT_ERRORS


def _documented(name: str) -> set[str]:
    """The codes in the `code` column of the page's tables (the other columns name fields and examples)."""
    codes: set[str] = set()
    column: int | None = None
    for line in (ROOT / "docs" / name).read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            column = None
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if column is None:  # a table's header row
            column = cells.index("code") if "code" in cells else -1
        elif column >= 0 and column < len(cells):
            # Codes only, not the fields a cell's parenthesis names (`bad_envelope` (... `workspace` ...)).
            codes.update(re.findall(r"`([a-z_]+)`", re.sub(r"\([^)]*\)", "", cells[column])))
    return codes


def test_every_code_the_service_answers_is_documented():
    documented = _documented("errors.md") | _documented("protocol.md")
    missing = sorted(_raised() - documented)
    assert not missing, f"error codes no page documents (docs/errors.md, docs/protocol.md): {missing}"


def test_every_documented_rest_code_is_still_answered():
    stale = sorted(_documented("errors.md") - _raised())
    assert not stale, f"docs/errors.md lists codes nothing answers any more: {stale}"


def test_the_scan_finds_the_codes_it_must():
    """The patterns still match how the code raises errors (a rename of a helper would blind the first test)."""
    raised = _raised()
    assert {"page_not_ready", "upload_gone", "method_not_allowed", "not_found", "timeout", "item_exists",
            "too_many_requests", "token_expired", "rate_limited", "unknown_action"} <= raised
    assert not {"workspace", "id"} & (_documented("errors.md") | _documented("protocol.md"))  # fields, not codes
