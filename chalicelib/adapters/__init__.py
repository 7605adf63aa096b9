"""Implementations of the ports in chalicelib/ports.py for AWS, each given its boto3 client."""
