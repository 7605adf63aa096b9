"""PyMuPDF and Pillow: bytes in, tiles out; knows nothing of AWS.

Importing the package loads neither library: the API's functions (`app.py`) use `formats` and `errors` only, and
only the tiling worker imports `chalicelib.imaging.analyse` and `chalicelib.imaging.tiler`, which load them.
"""

from chalicelib.imaging.errors import DocumentRejected
from chalicelib.imaging.formats import MEDIA_TYPES, OFFICE_KINDS, Kind, sniff

__all__ = ["MEDIA_TYPES", "OFFICE_KINDS", "DocumentRejected", "Kind", "sniff"]
