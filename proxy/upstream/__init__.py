"""Upstream: the one way out to the API server, and the credential on every request."""
