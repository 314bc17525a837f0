"""Routing: the request as the API server will read it, and which cluster and path it goes to."""
