"""Prometheus metrics, with the maintained client library, in a registry of the app's own.

Requests by verb, code, resource and outcome with a latency histogram (streams
are counted as open streams instead: their duration is not latency); requests in
flight; bytes each way; the proxy's own upstream failures by kind; and, read at
scrape time, credential refreshes and review-cache hits and misses.

Every label value comes from a bounded set, never from the client's path: verbs
from the Kubernetes verbs and HTTP methods; `resource` from the names the API
server's discovery reports (proxy/resource_names.py), else `other`, or, for a
request the proxy refused itself, why (`filter`, `unauthenticated`, `forbidden`,
`bad_request`, `rate_limited`); `code` is a 3-digit status; `outcome` one of four.
Requests that end before the first discovery fetch wait (a bounded few) to be
labelled at the next scrape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from proxy.ops.observe import RequestRecord
from proxy.ops.resource_names import OTHER, ResourceNames

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_ERROR_KINDS = {
    "UpstreamTLSError": "tls",
    "UpstreamUnreachableError": "refused",
    "UpstreamTimeoutError": "timeout",
    "UpstreamError": "other",
}
# The `verb` label: Kubernetes verbs, and lower-cased methods for non-resource paths.
_VERBS = frozenset({"get", "list", "watch", "create", "update", "patch", "delete",
                    "deletecollection", "proxy", "head", "post", "put", "options", ""})
# Records waiting for the first discovery fetch to be labelled; beyond, `other`.
MAX_WAITING_RECORDS = 1000
# How long a scrape waits for a discovery fetch in flight.
SCRAPE_DISCOVERY_WAIT = 5.0


@dataclass(frozen=True)
class CounterReading:
    """A counter kept by some object (a credential source, a cache), read when scraped."""

    name: str
    help: str
    labels: dict[str, str]
    value: float


class ReadingsCollector(Collector):
    def __init__(self, read: Callable[[], list[CounterReading]]):
        self._read = read

    def collect(self) -> Iterator[Metric]:
        families: dict[str, CounterMetricFamily] = {}
        for reading in self._read():
            family = families.get(reading.name)
            if family is None:
                family = CounterMetricFamily(reading.name, reading.help,
                                             labels=sorted(reading.labels))
                families[reading.name] = family
            family.add_metric([reading.labels[k] for k in sorted(reading.labels)], reading.value)
        yield from families.values()


class TransportCollector(Collector):
    """`kube_auth_proxy_upstream_transport_info{requests="rest",transport="http1"} 1`: which
    transport carries REST requests and which watches and followed logs (`stream`), read
    from the upstream in use when scraped."""

    def __init__(self, read: Callable[[], Mapping[str, str]]):
        self._read = read

    def collect(self) -> Iterator[Metric]:
        family = InfoMetricFamily(
            "kube_auth_proxy_upstream_transport",
            "The transport to the API server, by kind of request (rest, stream).",
            labels=["requests"],
        )
        for requests, transport in sorted(self._read().items()):
            family.add_metric([requests], {"transport": transport})
        yield family


class Metrics:
    """A request sink that counts, and the `/metrics` handler."""

    def __init__(
        self,
        *,
        readings: Callable[[], list[CounterReading]] | None = None,
        resource_names: ResourceNames | None = None,
        transports: Callable[[], Mapping[str, str]] | None = None,
    ):
        self.registry = CollectorRegistry()
        self.resource_names = resource_names
        self._waiting: list[RequestRecord] = []
        r = self.registry
        self.requests = Counter("kube_auth_proxy_requests", "Requests served, by Kubernetes "
                                "verb, HTTP code, resource and outcome.",
                                ["verb", "code", "resource", "outcome"], registry=r)
        self.latency = Histogram("kube_auth_proxy_request_duration_seconds", "Time to serve "
                                 "a request (watches and upgrades excluded).",
                                 ["verb", "resource"], registry=r)
        self.in_flight = Gauge("kube_auth_proxy_requests_in_flight", "Requests being served.",
                               registry=r)
        self.streams = Gauge("kube_auth_proxy_open_streams", "Open watches (chunked or "
                             "WebSocket) and upgraded connections.", ["kind"], registry=r)
        self.bytes = Counter("kube_auth_proxy_bytes", "Body bytes received from clients "
                             "and sent to them.", ["direction"], registry=r)
        self.upstream_errors = Counter("kube_auth_proxy_upstream_errors", "Requests the "
                                       "proxy could not take to the API server, by kind.",
                                       ["kind"], registry=r)
        self.credential_errors = Counter("kube_auth_proxy_credential_errors", "Requests "
                                         "failed because no credential could be obtained.",
                                         registry=r)
        # Children of the fixed label values, made once (shown at 0 from the start) rather
        # than looked up on every request.
        self._open_streams = {kind: self.streams.labels(kind)
                              for kind in ("watch", "websocket", "upgrade")}
        self._errors_by_class = {error: self.upstream_errors.labels(kind)
                                 for error, kind in _ERROR_KINDS.items()}
        self._bytes_received = self.bytes.labels("received")
        self._bytes_sent = self.bytes.labels("sent")
        if readings is not None:
            r.register(ReadingsCollector(readings))
        if transports is not None:
            r.register(TransportCollector(transports))

    def started(self, stream: str | None) -> None:
        self.in_flight.inc()
        if stream is not None:
            self._open_streams[stream].inc()

    def finished(self, record: RequestRecord) -> None:
        self.in_flight.dec()
        if record.stream is not None:
            self._open_streams[record.stream].dec()
        self._bytes_received.inc(record.bytes_in)
        self._bytes_sent.inc(record.bytes_out)
        if record.error in self._errors_by_class:
            self._errors_by_class[record.error].inc()
        elif record.error == "CredentialError":
            self.credential_errors.inc()
        resource = self.resource_label(record)
        if resource is None:
            if len(self._waiting) < MAX_WAITING_RECORDS:
                self._waiting.append(record)
                return
            assert self.resource_names is not None
            self.resource_names.start_refresh()
            resource = OTHER
        self._count(record, resource)

    def resource_label(self, record: RequestRecord) -> str | None:
        """Why the proxy refused it, the discovered resource, `other`, or "" for a
        non-resource path; None while discovery has not answered yet."""
        if record.refusal is not None:
            return record.refusal
        attributes = record.attributes
        if attributes is None:
            return OTHER
        if not attributes.resource_request:
            return ""
        if self.resource_names is None:
            return OTHER
        resource = attributes.resource
        if attributes.subresource:
            resource += "/" + attributes.subresource
        return self.resource_names.label(attributes.api_group, resource)

    def _count(self, record: RequestRecord, resource: str) -> None:
        verb = record.attributes.verb if record.attributes is not None else record.method.lower()
        verb = verb if verb in _VERBS else OTHER
        self.requests.labels(verb, str(record.code), resource, record.outcome).inc()
        if record.stream is None:
            self.latency.labels(verb, resource).observe(record.seconds)

    async def handle(self, request: web.Request) -> web.Response:
        if self.resource_names is not None:
            await self.resource_names.refresh_if_due(wait=SCRAPE_DISCOVERY_WAIT)
        waiting, self._waiting = self._waiting, []
        for record in waiting:
            self._count(record, self.resource_label(record) or OTHER)
        return web.Response(body=generate_latest(self.registry),
                            headers={"Content-Type": CONTENT_TYPE})
