"""Blueprints: thin handlers that parse an event, call one service, and map the result or error."""
