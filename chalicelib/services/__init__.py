"""Use cases; each depends only on ports, never on boto3."""
