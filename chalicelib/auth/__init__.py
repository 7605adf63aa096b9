"""Bearer tokens: issuing and verifying JWTs (PyJWT)."""
