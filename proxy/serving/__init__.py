"""Serving: the listeners, the worker processes, and the app assembled from the config."""
