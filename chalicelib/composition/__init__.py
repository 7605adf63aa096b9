"""The composition root's parts, one module per kind of function (chalicelib/container.py assembles them)."""
