"""Incoming authentication: who is calling the proxy (TokenReview, client certificates)."""
