"""The request as the API server will read it: derived once, judged by everyone.

The filter, the authorizer, the choice between forwarding and serving a watch,
the metrics and the logs must all judge the request the upstream receives. So
the raw request target is read once, here, the way the kube-apiserver reads it
(Go's `net/url`, `url.ParseQuery`, meta/v1's parameter conversion and the
RequestInfoFactory). Whatever that reading could disagree with is refused with
a 400 rather than guessed at:

- a target that is not a path (absolute-form `http://x/api`, authority-form, `*`);
- a fragment (`#`): the URL library drops it before forwarding, so the authorizer
  would judge `secrets#x` while the API server serves `secrets`;
- spaces, control characters, non-ASCII bytes and backslashes, which URL libraries
  re-encode and intermediaries may read as separators;
- a malformed percent-escape in the path (Go's server answers 400 too), or escapes
  that do not decode to UTF-8;
- `.`, `..` and empty (`//`) segments, raw or escaped: the API server does not resolve
  them (a 404), but anything on the way that cleans paths would, into another resource.

What is kept is forwarded byte for byte; a trailing empty `?` is dropped, as the
forwarder's URL library drops it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from aiohttp import web
from aiohttp.typedefs import Middleware
from yarl import URL

from proxy.errors import BadRequestError
from proxy.routing.kind import RequestKind, request_kind, upgrade_protocol
from proxy.status import status_response

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Bytes a request target may hold (RFC 3986 pchar, `/`, `?`, and `%` for escapes).
_TARGET_BYTES = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?%\"<>\[\]^`{|}]*")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")

_API_PREFIXES = frozenset({"api", "apis"})
_GROUPLESS_PREFIXES = frozenset({"api"})
_SPECIAL_VERBS = frozenset({"proxy", "watch"})
_SPECIAL_VERBS_NO_SUBRESOURCES = frozenset({"proxy"})
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
_METHOD_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update",
                 "PATCH": "patch", "DELETE": "delete"}
# ListOptions fields meta/v1 converts to integers: one that does not parse fails the decode.
_INTEGER_LIST_OPTIONS = ("limit", "timeoutSeconds")
_GO_INT64 = re.compile(r"[+-]?[0-9]+")
# Go's strings.EqualFold folds these non-ASCII runes onto ASCII letters.
_FOLDS_TO_ASCII = {"\u017f": "s", "\u212a": "k"}


@dataclass(frozen=True)
class Attributes:
    """A request's authorization attributes, as the kube-apiserver's RequestInfoFactory has them.

        /api/v1/namespaces/ns/pods/web/log  -> get pods/log "web" in namespace "ns"
        /apis/apps/v1/deployments?watch=1   -> watch deployments.apps in all namespaces
        /version                            -> get on the non-resource path /version
    """

    verb: str
    path: str
    resource_request: bool = False
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""

    def describe(self) -> str:
        """As the apiserver's forbidden message says it."""
        if not self.resource_request:
            return f'{self.verb} path "{self.path}"'
        resource = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        where = f' in the namespace "{self.namespace}"' if self.namespace else ""
        return f'{self.verb} resource "{resource}" in API group "{self.api_group}"{where}'


@dataclass(frozen=True)
class Query:
    """A query string as Go's `url.ParseQuery` reads it: `&` separates; a pair holding `;` or a
    bad escape is dropped; `+` is a space; the first value of a name is the one `Get` gives."""

    pairs: tuple[tuple[str, str], ...]

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]

    def get(self, name: str) -> str | None:
        values = self.values(name)
        return values[0] if values else None

    def flag(self, name: str) -> bool:
        """A boolean parameter as the API server converts it (meta/v1
        `Convert_Slice_string_To_bool`): absent, `0` and `false` in any case are false; anything
        else is true, `yes`, `f` and a bare `?watch` included. Not Go's strconv.ParseBool: the
        recorded API server treats `watch=yes` and `watch=f` as watches."""
        value = self.get(name)
        return value is not None and value != "0" and not _equal_fold(value, "false")


@dataclass(frozen=True)
class CanonicalRequest:
    """One request as the upstream will receive it; what every layer judges."""

    method: str
    target: str  # exactly as forwarded: path and query, percent-encoded
    path: str  # decoded once, as Go's URL.Path
    query: Query
    upgrade: str | None  # the protocol an upgrade asks for, if it is one passed through
    kind: RequestKind
    attributes: Attributes

    @property
    def raw_path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def raw_query(self) -> str:
        return self.target.partition("?")[2]


# Clients ask for the same few targets over and over; the result is immutable.
@functools.lru_cache(maxsize=4096)
def canonicalise(method: str, raw_target: str, *, upgrade: str | None = None) -> CanonicalRequest:
    """Read a request target as the API server will; `BadRequestError` when it cannot be."""
    target = checked_target(raw_target)
    raw_path, _, raw_query = target.partition("?")
    path = decoded_path(raw_path)
    query = parse_query(raw_query)
    attributes = request_info(method, path, query)
    return CanonicalRequest(
        method=method,
        target=target,
        path=path,
        query=query,
        upgrade=upgrade,
        kind=request_kind(method, attributes, upgrade=upgrade),
        attributes=attributes,
    )


def checked_target(raw_target: str) -> str:
    """The target as it will be forwarded, or `BadRequestError` saying why it cannot be."""
    if not raw_target.startswith("/"):
        raise BadRequestError("the request target must be a path (origin-form), not "
                              "an absolute URL, an authority or *")
    if "#" in raw_target:
        raise BadRequestError("the request target has a fragment (#); escape it as %23")
    if "\\" in raw_target.partition("?")[0]:
        raise BadRequestError("the request path has a backslash; escape it as %5C")
    if not _TARGET_BYTES.fullmatch(raw_target):
        raise BadRequestError("the request target has a space, a control character or a "
                              "byte outside ASCII; percent-encode it")
    return raw_target[:-1] if raw_target.endswith("?") and raw_target.count("?") == 1 \
        else raw_target


def decoded_path(raw_path: str) -> str:
    """The path decoded once, as Go's URL.Path; refused where readings could differ."""
    if _BAD_ESCAPE.search(raw_path):
        raise BadRequestError("the request path has a malformed percent-escape")
    try:
        path = unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequestError("the request path does not decode to UTF-8") from None
    for form in (raw_path, path):
        segments = form.split("/")[1:]
        if any(segment in (".", "..") for segment in segments):
            raise BadRequestError("the request path has a . or .. segment")
        if any(segment == "" for segment in segments[:-1]):
            raise BadRequestError("the request path has an empty segment (//)")
    return path


def parse_query(raw_query: str) -> Query:
    """Go's `url.ParseQuery`: pairs it cannot read are dropped, as the API server drops them."""
    pairs = []
    for pair in raw_query.split("&"):
        if not pair or ";" in pair:
            continue
        key, _, value = pair.partition("=")
        name, text = _query_unescape(key), _query_unescape(value)
        if name is not None and text is not None:
            pairs.append((name, text))
    return Query(tuple(pairs))


def _query_unescape(text: str) -> str | None:
    if _BAD_ESCAPE.search(text):
        return None
    return unquote_to_bytes(text.replace("+", " ")).decode("utf-8", "surrogateescape")


def _equal_fold(value: str, ascii_lower: str) -> bool:
    """Go's strings.EqualFold against a lower-case ASCII word (`fal\u017fe` is `false` to Go)."""
    if len(value) != len(ascii_lower):
        return False
    return all(
        c == t or (c.isascii() and c.lower() == t) or _FOLDS_TO_ASCII.get(c) == t
        for c, t in zip(value, ascii_lower, strict=True)
    )


def request_info(method: str, path: str, query: Query) -> Attributes:
    """The kube-apiserver's RequestInfoFactory.NewRequestInfo, on the decoded path."""
    non_resource = Attributes(verb=method.lower(), path=path)
    parts = path.strip("/").split("/") if path.strip("/") else []
    if len(parts) < 3 or parts[0] not in _API_PREFIXES:
        return non_resource
    prefix, parts = parts[0], parts[1:]
    group = ""
    if prefix not in _GROUPLESS_PREFIXES:
        if len(parts) < 3:
            return non_resource
        group, parts = parts[0], parts[1:]
    version, parts = parts[0], parts[1:]
    if parts[0] in _SPECIAL_VERBS:
        if len(parts) < 2:
            # The API server fails such a request (500) before doing anything.
            raise BadRequestError(f"{path} names no resource after /{parts[0]}/")
        verb, parts = parts[0], parts[1:]
    else:
        verb = _METHOD_VERBS.get(method, "")
    namespace = ""
    if parts[0] == "namespaces" and len(parts) > 1:
        namespace = parts[1]
        if len(parts) > 2 and parts[2] not in _NAMESPACE_SUBRESOURCES:
            parts = parts[2:]
    resource = parts[0]
    name = parts[1] if len(parts) >= 2 else ""
    subresource = ""
    if len(parts) >= 3 and verb not in _SPECIAL_VERBS_NO_SUBRESOURCES:
        subresource = parts[2]
    if not name and verb == "get":
        verb = "watch" if query.flag("watch") else "list"
        name = _name_from_list_options(query)
    if not name and verb == "delete":
        verb = "deletecollection"
    return Attributes(
        verb=verb, path=path, resource_request=True, api_group=group, api_version=version,
        namespace=namespace, resource=resource, subresource=subresource, name=name,
    )


def _name_from_list_options(query: Query) -> str:
    """A list or watch of one object by `fieldSelector=metadata.name=x` is about that name.

    Only when the API server's decode of the ListOptions succeeds (else it drops them);
    label selectors are not validated here: a name the API server would not see only
    narrows a SubjectAccessReview, it never widens one.
    """
    for option in _INTEGER_LIST_OPTIONS:
        value = query.get(option)
        if value and not _GO_INT64.fullmatch(value):
            return ""
    selector = query.get("fieldSelector")
    if not selector:
        return ""
    name = _exact_match(selector, "metadata.name")
    if name is None or name in (".", "..") or "/" in name or "%" in name:
        return ""
    return name


def _exact_match(selector: str, field: str) -> str | None:
    """fields.ParseSelector(...).RequiresExactMatch(field); None when it does not parse."""
    terms = sorted(_split_terms(selector))
    found = None
    for term in terms:
        if not term:
            continue
        split = _split_term(term)
        if split is None:
            return None
        lhs, operator, rhs = split
        value = _unescape_field_value(rhs)
        if value is None:
            return None
        if found is None and lhs == field and operator != "!=":
            found = value
    return found


def _split_terms(selector: str) -> list[str]:
    terms, start, escaped = [], 0, False
    for index, char in enumerate(selector):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            terms.append(selector[start:index])
            start = index + 1
    terms.append(selector[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    for index in range(len(term)):
        for operator in ("!=", "==", "="):
            if term.startswith(operator, index):
                return term[:index], operator, term[index + len(operator):]
    return None


def _unescape_field_value(text: str) -> str | None:
    value, escaped = [], False
    for char in text:
        if escaped:
            if char not in "\\,=":
                return None
            value.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",=":
            return None
        else:
            value.append(char)
    return None if escaped else "".join(value)


CANONICAL = web.RequestKey("canonical_request", CanonicalRequest)
# Why a request's target could not be canonicalised (the message of its 400).
BAD_TARGET = web.RequestKey("bad_target", str)


def canonical_of(request: web.Request) -> CanonicalRequest:
    """The request's canonical form, derived once (by `canonical_requests`, or here)."""
    canonical = request.get(CANONICAL)
    if canonical is None:
        canonical = canonicalise(
            request.method, request.raw_path, upgrade=upgrade_protocol(request.headers)
        )
        request[CANONICAL] = canonical
    return canonical


def retarget(request: web.Request, raw_target: str) -> web.Request:
    """The request for another target (an API prefix or cluster prefix stripped), canonical."""
    canonical = canonicalise(
        request.method, raw_target, upgrade=upgrade_protocol(request.headers)
    )
    clone = request.clone(rel_url=URL(canonical.target, encoded=True))
    clone[CANONICAL] = canonical
    return clone


def canonical_requests(refuse: Handler) -> Middleware:
    """The app middleware that canonicalises every request before anything else sees it.

    Contract: runs before routing's handler, the proxy's own endpoints included; a target
    that cannot be canonicalised goes to `refuse` (a 400 `Status`) with `BAD_TARGET` set.
    """

    @web.middleware
    async def canonical(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            canonical_of(request)
        except BadRequestError as exc:
            request[BAD_TARGET] = str(exc)
            return await refuse(request)
        return await handler(request)

    return canonical


async def bad_target_response(request: web.Request) -> web.StreamResponse:
    """The 400 `Status` for a target `canonical_requests` could not read."""
    return status_response(400, request.get(BAD_TARGET, "the request target cannot be read"))
