"""Kalexo Teamwork: everything that is packaged into the Lambda functions besides app.py."""

from chalicelib.compiled_records import install

install()  # before any record is created: the package's precompiled dataclass methods, if it has them
