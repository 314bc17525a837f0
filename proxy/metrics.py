"""Prometheus metrics, with the maintained client library, in a registry of the app's own.

Requests by verb, code and resource with a latency histogram (streams are
counted as open streams instead: their duration is not latency); requests in
flight; bytes each way; the proxy's own upstream failures by kind; and, read at
scrape time, credential refreshes and review-cache hits and misses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from proxy.authz.attributes import Attributes
from proxy.observe import RequestRecord

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_ERROR_KINDS = {
    "UpstreamTLSError": "tls",
    "UpstreamUnreachableError": "refused",
    "UpstreamTimeoutError": "timeout",
    "UpstreamError": "other",
}


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


class Metrics:
    """A request sink that counts, and the `/metrics` handler."""

    def __init__(self, *, readings: Callable[[], list[CounterReading]] | None = None):
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("kube_auth_proxy_requests", "Requests served, by Kubernetes "
                                "verb, HTTP code and resource.", ["verb", "code", "resource"],
                                registry=r)
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
        for kind in ("watch", "websocket", "upgrade"):
            self.streams.labels(kind)
        for kind in set(_ERROR_KINDS.values()):
            self.upstream_errors.labels(kind)
        if readings is not None:
            r.register(ReadingsCollector(readings))

    def started(self, request: web.Request, attributes: Attributes, stream: str | None) -> None:
        self.in_flight.inc()
        if stream is not None:
            self.streams.labels(stream).inc()

    def finished(self, record: RequestRecord) -> None:
        self.in_flight.dec()
        resource = record.attributes.resource
        if record.attributes.subresource:
            resource += "/" + record.attributes.subresource
        verb = record.attributes.verb
        self.requests.labels(verb, str(record.code), resource).inc()
        if record.stream is not None:
            self.streams.labels(record.stream).dec()
        else:
            self.latency.labels(verb, resource).observe(record.seconds)
        self.bytes.labels("received").inc(record.bytes_in)
        self.bytes.labels("sent").inc(record.bytes_out)
        if record.error in _ERROR_KINDS:
            self.upstream_errors.labels(_ERROR_KINDS[record.error]).inc()
        elif record.error == "CredentialError":
            self.credential_errors.inc()

    async def handle(self, request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(self.registry),
                            headers={"Content-Type": CONTENT_TYPE})
