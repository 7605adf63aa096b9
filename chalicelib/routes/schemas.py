"""JSON Schemas of the REST API's bodies and answers: request bodies are validated against them, and the
OpenAPI document publishes them."""

from __future__ import annotations

from typing import Any

ID = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}
# A name people read: something visible, and no control characters or bidirectional overrides (which make one
# name look like another: "\u202e" shows what follows it backwards).
# "Visible": not white space, nor a zero-width, joiner, filler, mark or byte-order character. One visible character
# among allowed ones, with no lookahead: a plain class sequence also lets the API fuzzer generate names quickly.
_NAME_ALLOWED = "[^\\x00-\\x1f\\x7f-\\x9f\\u2028-\\u202e\\u2066-\\u2069]"
_NAME_VISIBLE = ("[^\\s\\x00-\\x1f\\x7f-\\x9f\\u00ad\\u034f\\u061c\\u115f\\u1160\\u180e\\u200b-\\u200f\\u2028-\\u202e"
                 "\\u2060-\\u2069\\u2800\\u3164\\ufeff\\uffa0]")
NAME = {"type": "string", "minLength": 1, "maxLength": 200,
        "pattern": f"^{_NAME_ALLOWED}*{_NAME_VISIBLE}{_NAME_ALLOWED}*$",
        "description": "a name with at least one visible character and no control characters or direction "
                       "overrides"}
# `x-error-code`: the code a refusal of this value carries instead of `bad_body` (docs/errors.md names these).
PLAN = {"type": "string", "enum": ["free", "team", "enterprise"], "x-error-code": "bad_plan"}
USER_ROLE = {"type": "string", "enum": ["platform_admin", "account_admin", "member"], "x-error-code": "bad_role"}
WORKSPACE_ROLE = {"type": "string", "enum": ["owner", "editor", "viewer"], "x-error-code": "bad_role"}
QUOTA = {"type": ["integer", "null"], "minimum": 0}


def described(kind: str, text: str) -> dict[str, Any]:
    """A field of one JSON type, with what it means (shown by /docs and in the OpenAPI document)."""
    return {"type": kind, "description": text}


def obj(properties: dict[str, Any], required: tuple[str, ...] = (), extra: bool = False) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": extra}


def page_of(item: dict[str, Any]) -> dict[str, Any]:
    return obj({"items": {"type": "array", "items": item}, "next_cursor": {"type": ["string", "null"]}},
               ("items", "next_cursor"))


QUOTAS = obj({"max_users": QUOTA, "max_workspaces": QUOTA, "max_storage_bytes": QUOTA, "max_pages_per_month": QUOTA})
ACCOUNT = obj({"account_id": ID, "name": NAME, "plan": PLAN, "quotas": QUOTAS,
               "quota_overrides": {**QUOTAS, "description": "the quotas set apart from the plan's (null: no limit); "
                                                           "the others are the plan's"},
               "created_at": {"type": "integer"}},
              ("account_id", "name", "plan", "quotas", "quota_overrides", "created_at"))
USER = obj({"user_id": ID, "account_id": ID, "email": {"type": "string"}, "name": NAME, "role": USER_ROLE,
            "avatar_url": {"type": "string"}, "created_at": {"type": "integer"}},
           ("user_id", "account_id", "email", "name", "role", "created_at"), extra=True)
WORKSPACE = obj({"workspace_id": ID, "account_id": ID, "name": NAME, "settings": {"type": "object"},
                 "created_at": {"type": "integer"}, "role": WORKSPACE_ROLE},
                ("workspace_id", "account_id", "name", "settings", "created_at"))
MEMBER = obj({"workspace_id": ID, "user_id": ID, "role": WORKSPACE_ROLE, "added_at": {"type": "integer"},
              "online": {"type": "boolean"}}, ("workspace_id", "user_id", "role", "added_at"))
EVENT = obj({"event_id": {"type": "string"}, "type": {"type": "string"}, "at_ms": {"type": "integer"},
             "at": {"type": "string"}, "account_id": {"type": "string"}, "workspace_id": {"type": "string"},
             "user_id": {"type": "string"}, "actor_id": {"type": "string"}, "detail": {"type": "object"}},
            ("event_id", "type", "at_ms"))
TOKEN = obj({"token": {"type": "string"}, "expires_in": {"type": "integer"}}, ("token",))
USAGE = obj({"account_id": ID, "period": {"type": "string"}, "usage": {"type": "object"},
             "stored": {"type": "object"}, "quotas": QUOTAS, "counts": {"type": "object"}},
            ("account_id", "period", "usage", "stored", "quotas"))
ERROR = obj({"error": obj({"code": {"type": "string"}, "message": {"type": "string"}}, ("code", "message"))},
            ("error",))

NEW_ACCOUNT = obj({"name": NAME, "plan": PLAN, "account_id": ID}, ("name",))
ACCOUNT_CHANGES = obj({"name": NAME, "plan": PLAN, "quota_overrides": {**obj(
    {"max_users": QUOTA, "max_workspaces": QUOTA, "max_storage_bytes": QUOTA, "max_pages_per_month": QUOTA}),
    "description": "replaces the account's overrides as a whole (send every one to keep; {} goes back to the "
                   "plan's quotas); null is no limit"}})
EMAIL = {"type": "string", "minLength": 3, "maxLength": 254,
         "description": "unique within the account (409 `email_taken`); an address used in another account is no "
                        "conflict, and no answer says whether one is"}
# No pattern: the service judges a URL (chalicelib/domain/tenancy.py web_url), so every bad one is `bad_url`.
WEB_URL = {"type": "string", "maxLength": 2000,
           "description": "an http or https URL with a host, or empty for none (400 `bad_url` otherwise)"}


def chosen_id(kind: str) -> dict[str, Any]:
    return {**ID, "description": f"platform administrators only (others: 403 `id_chosen_by_server`, whatever the "
                                 f"id); left out, the server chooses one. A {kind} id is never answered as taken to "
                                 f"anyone who cannot see every tenant"}


NEW_USER = obj({"email": EMAIL, "name": NAME, "role": USER_ROLE, "avatar_url": WEB_URL, "user_id": chosen_id("user")},
               ("email", "name"))
USER_CHANGES = obj({"email": EMAIL, "name": NAME, "role": USER_ROLE, "avatar_url": WEB_URL})
NEW_WORKSPACE = obj({"name": NAME, "settings": {"type": "object", "maxProperties": 50}, "owner_id": ID,
                     "workspace_id": chosen_id("workspace")}, ("name",))
WORKSPACE_CHANGES = obj({"name": NAME, "settings": {"type": "object", "maxProperties": 50}})
MEMBERSHIP = obj({"role": WORKSPACE_ROLE}, ("role",))
UPLOAD_REQUEST = obj({"filename": {"type": "string", "minLength": 1, "maxLength": 255, "description": (
                         "the file's name, kept as a new document's name (a grant for an existing document_id "
                         "keeps its name): any script; its last path component, NFC; tabs and line breaks become "
                         "spaces, control, invisible and direction characters are dropped, <>:\"|?* become _; at "
                         "most 120 characters, the extension kept; nothing visible left: 'document'")},
                     "size": {"type": "integer", "minimum": 1}, "content_type": {"type": "string", "maxLength": 120},
                     "document_id": {"type": "string", "pattern": "^doc-[0-9a-f]{16}$"}},
                    ("filename", "size", "content_type"))
UPLOAD_GRANT = obj({"upload_id": {"type": "string"}, "document_id": {"type": "string"},
                    "key": {"type": "string"}, "url": {"type": "string"},
                    "method": {"type": "string", "enum": ["PUT", "multipart"]}, "headers": {"type": "object"},
                    "expires_in": {"type": "integer"}, "multipart": {"type": "object"}},
                   ("upload_id", "document_id", "key", "method", "expires_in"))
UPLOAD_TOKEN = obj({"upload_token": {"type": "string", "minLength": 1, "maxLength": 4000}}, ("upload_token",))
MULTIPART_STATUS = obj({"part_size": {"type": "integer"}, "part_count": {"type": "integer"},
                        "uploaded": {"type": "array"}, "missing": {"type": "array"}},
                       ("part_size", "part_count", "uploaded", "missing"))
UPLOADED = obj({"document_id": {"type": "string"}, "size": {"type": "integer"}, "status": {"type": "string"},
                "version_id": described("string", "the object's version, as a single PUT's x-amz-version-id names "
                                                  "it: look for it in the document's passed_over")},
               ("document_id", "size", "status"))
WORKSPACE_STATE = obj({"workspace": ID, "seq": {"type": "integer"}, "items": {"type": "array"}},
                      ("workspace", "seq", "items"))
RESTORE = {**obj({"seq": {"type": "integer", "minimum": 0}, "at_ms": {"type": "integer", "minimum": 0}}),
           "description": "one of seq (after this op) or at_ms (as at this time); both or neither is 400 bad_restore"}
RESTORED = obj({"workspace": ID, "restored_to": {"type": "integer"}, "from_seq": {"type": "integer"},
                "ops": {"type": "array", "items": {"type": "integer"}}},
               ("workspace", "restored_to", "from_seq", "ops"))
TOKEN_REQUEST = obj({"ttl_seconds": {"type": "integer", "minimum": 60, "maximum": 30 * 86400}})
TILE_OPTIONS = obj({"dpi": {"type": "integer", "minimum": 36, "maximum": 600},
                    "tile_size": {"type": "integer", "enum": [128, 256, 512, 1024]},
                    "format": {"type": "string", "enum": ["jpeg", "png", "webp"]},
                    "quality": {"type": "integer", "minimum": 30, "maximum": 100},
                    "max_side": {"type": "integer", "minimum": 1024, "maximum": 32768},
                    "max_pixels": {"type": "integer", "minimum": 1_000_000, "maximum": 32768 * 32768}})
DOCUMENT = obj({"workspace_id": ID, "document_id": {"type": "string"}, "account_id": ID, "name": {"type": "string"},
                "declared_type": {"type": "string"}, "status": {"type": "string", "enum": [
                    "awaiting_upload", "analysing", "tiling", "ready", "failed"]},
                "created_at": {"type": "integer"}, "created_by": {"type": "string"}, "size": {"type": "integer"},
                "version_id": {"type": "string"}, "kind": {"type": "string"}, "job_id": {"type": "string"},
                "page_count": {"type": "integer"}, "pages_done": {"type": "integer"}, "reason": {"type": "string"},
                "reason_code": {"type": "string"}, "metadata": {"type": "object"}, "options": {"type": "object"},
                "updated_at": {"type": "integer"}, "pages": {"type": "array"},
                "page_width": described("integer", "the first page's width as analysis measured it (points; "
                                                   "pixels for images), 0 before"),
                "page_height": described("integer", "the first page's height, likewise"),
                "refused_version_id": described("string", "while it shows an earlier version with a reason_code: "
                                                          "the newest version, which could not be processed"),
                "passed_over": described("array", "versions uploaded but never to be shown, newest first (the "
                                                  "last 20): a newer version's job started first"),
                "upload_deadline": described("integer", "while awaiting_upload: until when (epoch seconds) its "
                                                        "upload is sure to be accepted; not listed after it"),
                "requested_options": described("object", "the options of a reprocessing asked for and not started "
                                                         "yet (another one asked for meanwhile builds on them)"),
                "requested_run": described("integer", "the run (ms) of the last reprocessing asked for: the job "
                                                      "it starts has it, and an earlier one's is not started")},
               ("workspace_id", "document_id", "name", "status", "created_at"))
JOB = obj({"workspace_id": ID, "document_id": {"type": "string"}, "job_id": {"type": "string"},
           "version_id": {"type": "string"}, "kind": {"type": "string"}, "state": {"type": "string"},
           "page_count": {"type": "integer"}, "pages_done": {"type": "integer"}, "options": {"type": "object"},
           "created_at": {"type": "integer"}, "finished_at": {"type": "integer"}, "reason": {"type": "string"},
           "run": described("integer", "0 for a version's first job; a reprocessing's start time (ms)"),
           "replaces_job_id": described("string", "the ready job its document showed when this one started: if "
                                                  "this one fails, the document shows that one again"),
           "displaced_version": described("string", "the version of a job still tiling that this one superseded: "
                                                    "if this one fails, that version is processed again")},
          ("document_id", "job_id", "state", "page_count", "pages_done"))
REPROCESS = obj({"options": TILE_OPTIONS})
REPROCESSING = obj({"document_id": {"type": "string"}, "job_id": {"type": "string"}, "options": {"type": "object"},
                    "status": {"type": "string"}}, ("document_id", "job_id", "status"))
WORKSPACE_REPROCESSING = obj({"workspace_id": ID, "queued": {"type": "array", "items": {"type": "string"}}},
                             ("workspace_id", "queued"))
PAGE_TEXT = obj({"document_id": {"type": "string"}, "page": {"type": "integer"}, "text": {"type": "string"}},
                ("document_id", "page", "text"))
