"""A request's authorization attributes: the canonical request's, as the API server reads them.

The reading itself (the kube-apiserver's RequestInfoFactory) lives with the canonical
request (proxy/canonical.py), so the authorizer, the filter, the forwarder and the
metrics cannot disagree about what a request asks for.

    /api/v1/namespaces/ns/pods/web/log  -> get pods/log "web" in namespace "ns"
    /apis/apps/v1/deployments?watch=1   -> watch deployments.apps in all namespaces
    /version                            -> get on the non-resource path /version
"""

from __future__ import annotations

from proxy.routing.canonical import Attributes, canonicalise

__all__ = ["Attributes", "request_attributes"]


def request_attributes(method: str, raw_target: str) -> Attributes:
    """The attributes of `method raw_target`; `BadRequestError` for a target the proxy refuses."""
    return canonicalise(method, raw_target).attributes
