"""PyMuPDF and Pillow: bytes in, tiles out; knows nothing of AWS.

Importing the package loads neither library, nor any of its modules: the API's functions use `formats` and
`errors` only (the REST function's document routes read the failure codes at every cold start), and only the
tiling worker imports `chalicelib.imaging.analyse` and `chalicelib.imaging.tiler`, which load them. Import what
you use from its module (`from chalicelib.imaging.errors import DocumentRejected`).
"""
