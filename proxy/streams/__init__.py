"""Streams: REST bodies, watches (chunked, resumed, over WebSocket) and upgrades, both ways."""
