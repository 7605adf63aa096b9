"""The one exception the imaging package raises for bad input.

Whatever goes wrong inside PyMuPDF or Pillow with a file someone uploaded becomes a `DocumentRejected` with a
stable `code` (for the service and the client to branch on) and a `reason` a project-team member can read
(one sentence, no library jargon). Anything else escaping the package is a bug in our code, not in the file.
"""

from __future__ import annotations

# The codes, in one place so the services and the tests spell them the same way.
EMPTY = "empty"
UNSUPPORTED_TYPE = "unsupported_type"
UNSUPPORTED_HERE = "unsupported_here"
PASSWORD_PROTECTED = "password_protected"  # noqa: S105 (a code, not a password)
CORRUPT = "corrupt"
TOO_MANY_PAGES = "too_many_pages"
IMAGE_TOO_LARGE = "image_too_large"
FILE_TOO_LARGE = "file_too_large"
NO_PAGES = "no_pages"
PAGES_QUOTA_EXCEEDED = "pages_quota_exceeded"  # not the file's fault: the account's plan is used up

CODES = frozenset({EMPTY, UNSUPPORTED_TYPE, UNSUPPORTED_HERE, PASSWORD_PROTECTED, CORRUPT, TOO_MANY_PAGES,
                   IMAGE_TOO_LARGE, FILE_TOO_LARGE, NO_PAGES, PAGES_QUOTA_EXCEEDED})


class DocumentRejected(Exception):
    def __init__(self, code: str, reason: str) -> None:
        if code not in CODES:
            raise ValueError(f"unknown rejection code {code!r}")
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


def corrupt(detail: str = "") -> DocumentRejected:
    """The file is damaged or not what its first bytes claim; `detail` (the library's message) goes to logs only."""
    rejection = DocumentRejected(CORRUPT, "The file is damaged or incomplete and could not be read; "
                                          "try saving or exporting it again and upload the new copy.")
    if detail:
        rejection.add_note(detail)
    return rejection
