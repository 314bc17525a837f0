"""In-memory object storage with etcd-like resourceVersions and an event history for watch.

Every change takes the next global resourceVersion, is kept in a bounded history
(the watch cache) and is handed to every live subscription. All methods are
synchronous, so a test can call them directly to make watch events happen.
"""

from __future__ import annotations

import asyncio
import builtins
import copy
import datetime
import random
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from proxy.testing import status
from proxy.testing.kinds import KINDS, NAMESPACES, ResourceKind, apply_defaults
from proxy.testing.status import JSONObject

EventType = Literal["ADDED", "MODIFIED", "DELETED"]
INITIAL_NAMESPACES: tuple[str, ...] = ("default", "kube-system")
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


@dataclass(frozen=True)
class StoreEvent:
    """One change, as the watch cache keeps it."""

    resource_version: int
    type: EventType
    kind: ResourceKind
    object: JSONObject
    # The object before a MODIFIED, for selector transitions; None otherwise.
    previous: JSONObject | None = None


class Subscription:
    """Live events after the moment of subscribing; close it to stop receiving."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._queue: asyncio.Queue[StoreEvent] = asyncio.Queue()

    def put(self, event: StoreEvent) -> None:
        self._queue.put_nowait(event)

    async def get(self) -> StoreEvent:
        return await self._queue.get()

    def get_nowait(self) -> StoreEvent | None:
        """The next queued event, or None when none is waiting."""
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    def close(self) -> None:
        self._store._subscriptions.discard(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def storage_key(namespace: str, name: str) -> str:
    """The etcd key below the resource prefix: the order lists and continue tokens follow."""
    return f"{namespace}/{name}" if namespace else name


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def format_timestamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Store:
    """Objects by (resource, namespace, name), a global resourceVersion and recent history."""

    def __init__(
        self,
        *,
        history_size: int = 1000,
        clock: Callable[[], datetime.datetime] = _utcnow,
        initial_namespaces: tuple[str, ...] = INITIAL_NAMESPACES,
    ) -> None:
        self._objects: dict[tuple[str, str, str], JSONObject] = {}
        self._history: deque[StoreEvent] = deque(maxlen=history_size)
        self._subscriptions: set[Subscription] = set()
        self._resource_version = 0
        self._clock = clock
        for name in initial_namespaces:
            self.create("namespaces", {"metadata": {"name": name}})
        # The watch cache starts where the server started: older versions are 410 Expired.
        self._history.clear()

    @property
    def resource_version(self) -> int:
        return self._resource_version

    def subscribe(self) -> Subscription:
        subscription = Subscription(self)
        self._subscriptions.add(subscription)
        return subscription

    def get(self, resource: str, name: str, *, namespace: str | None = None) -> JSONObject:
        kind = KINDS[resource]
        obj = self._objects.get(self._key(kind, namespace, name))
        if obj is None:
            raise status.not_found(resource, name, group=kind.group)
        return copy.deepcopy(obj)

    def list(self, resource: str, *, namespace: str | None = None) -> list[JSONObject]:
        """Objects ordered by storage key; all namespaces when `namespace` is None."""
        keys = sorted(
            (
                key
                for key in self._objects
                if key[0] == resource and (namespace is None or key[1] == namespace)
            ),
            key=lambda key: storage_key(key[1], key[2]),
        )
        return [copy.deepcopy(self._objects[key]) for key in keys]

    def create(
        self,
        resource: str,
        obj: JSONObject,
        *,
        namespace: str | None = None,
        dry_run: bool = False,
    ) -> JSONObject:
        kind = KINDS[resource]
        new = copy.deepcopy(obj)
        new.pop("kind", None)
        new.pop("apiVersion", None)
        metadata = new.setdefault("metadata", {})
        if not metadata.get("name") and metadata.get("generateName"):
            suffix = "".join(random.choices(_GENERATE_ALPHABET, k=5))
            metadata["name"] = metadata["generateName"] + suffix
        name = metadata.get("name") or ""
        if not name:
            raise status.invalid(
                kind.kind, "", "metadata.name: Required value: name or generateName is required"
            )
        namespace = self._namespace_for(kind, namespace, metadata)
        key = self._key(kind, namespace, name)
        sent_version = str(metadata.get("resourceVersion") or "")
        if sent_version.isdigit() and int(sent_version) != 0:  # etcd3 store, before the txn
            raise status.internal("resourceVersion should not be set on objects to be created")
        if key in self._objects:
            raise status.already_exists(resource, name)
        for field in ("resourceVersion", "deletionTimestamp"):
            metadata.pop(field, None)
        metadata["uid"] = str(uuid.uuid4())
        metadata["creationTimestamp"] = format_timestamp(self._clock())
        apply_defaults(kind, new)
        if dry_run:
            return new
        created = self._commit("ADDED", kind, key, new)
        if kind is NAMESPACES:  # what the service-account controller adds to every namespace
            self.create("serviceaccounts", {"metadata": {"name": "default"}}, namespace=name)
        return created

    def update(
        self,
        resource: str,
        obj: JSONObject,
        *,
        namespace: str | None = None,
        dry_run: bool = False,
    ) -> JSONObject:
        """Replace an object; a stale metadata.resourceVersion is a 409 Conflict."""
        kind = KINDS[resource]
        new = copy.deepcopy(obj)
        new.pop("kind", None)
        new.pop("apiVersion", None)
        metadata = new.setdefault("metadata", {})
        name = metadata.get("name") or ""
        namespace = self._namespace_for(kind, namespace, metadata, check_exists=False)
        key = self._key(kind, namespace, name)
        current = self._objects.get(key)
        if current is None:
            raise status.not_found(resource, name, group=kind.group)
        sent_version = metadata.get("resourceVersion")
        if sent_version and sent_version != current["metadata"]["resourceVersion"]:
            raise status.conflict(resource, name)
        for field in ("uid", "creationTimestamp", "resourceVersion"):
            metadata[field] = current["metadata"][field]
        if "status" in kind.subresources and "status" in current:
            new["status"] = copy.deepcopy(current["status"])
        if kind is NAMESPACES:
            apply_defaults(kind, new)
        if new == current or dry_run:
            return copy.deepcopy(current) if new == current else new
        return self._commit("MODIFIED", kind, key, new, previous=current)

    def update_status(
        self, resource: str, obj: JSONObject, *, namespace: str | None = None
    ) -> JSONObject:
        """The status subresource: only .status is replaced, the rest stays as stored."""
        kind = KINDS[resource]
        key = self._key(kind, namespace, obj["metadata"]["name"])
        current = self._objects.get(key)
        if current is None:
            raise status.not_found(resource, obj["metadata"]["name"], group=kind.group)
        new = copy.deepcopy(current)
        new["status"] = copy.deepcopy(obj.get("status") or {})
        if new == current:
            return copy.deepcopy(current)
        return self._commit("MODIFIED", kind, key, new, previous=current)

    def delete(
        self,
        resource: str,
        name: str,
        *,
        namespace: str | None = None,
        dry_run: bool = False,
        precondition_uid: str | None = None,
        precondition_resource_version: str | None = None,
    ) -> JSONObject:
        """Remove an object (a namespace takes its contents with it); return it as last seen.

        Preconditions that do not hold are a 409 Conflict, as storage.Preconditions says it.
        """
        kind = KINDS[resource]
        key = self._key(kind, namespace, name)
        current = self._objects.get(key)
        if current is None:
            raise status.not_found(resource, name, group=kind.group)
        metadata = current["metadata"]
        if precondition_uid is not None and precondition_uid != metadata["uid"]:
            raise status.conflict_message(
                f'Operation cannot be fulfilled on {kind.kind} "{name}": the UID in the '
                f"precondition ({precondition_uid}) does not match the UID in record "
                f"({metadata['uid']}). The object might have been deleted and then recreated",
                name=name, kind=kind.kind,
            )
        if (
            precondition_resource_version is not None
            and precondition_resource_version != metadata["resourceVersion"]
        ):
            raise status.conflict_message(
                f'Operation cannot be fulfilled on {kind.kind} "{name}": the ResourceVersion in '
                f"the precondition ({precondition_resource_version}) does not match the "
                f"ResourceVersion in record ({metadata['resourceVersion']}). The object might "
                "have been modified",
                name=name, kind=kind.kind,
            )
        if dry_run:
            return copy.deepcopy(current)
        if kind is NAMESPACES:
            for contained in [k for k in self._objects if k[0] != "namespaces" and k[1] == name]:
                self._remove(KINDS[contained[0]], contained)
        return self._remove(kind, key)

    def list_at(
        self, resource: str, resource_version: int, *, namespace: str | None = None
    ) -> builtins.list[JSONObject]:
        """The list as it was at `resource_version` (an Exact list), undoing later history;
        410 Expired when the history no longer reaches back that far."""
        oldest = self._history[0].resource_version if self._history else self._resource_version + 1
        if resource_version < oldest - 1:
            raise status.expired("The resourceVersion for the provided list is too old.")
        objects = {storage_key(o["metadata"].get("namespace", ""), o["metadata"]["name"]): o
                   for o in self.list(resource, namespace=namespace)}
        for event in reversed(self._history):
            if event.resource_version <= resource_version:
                break
            if event.kind.plural != resource:
                continue
            obj = event.object
            if namespace is not None and obj["metadata"].get("namespace") != namespace:
                continue
            key = storage_key(obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            if event.type == "ADDED":
                objects.pop(key, None)
            elif event.type == "MODIFIED" and event.previous is not None:
                objects[key] = copy.deepcopy(event.previous)
            elif event.type == "DELETED":
                before = copy.deepcopy(obj)
                before["metadata"]["resourceVersion"] = self._version_before(
                    key, resource, event.resource_version)
                objects[key] = before
        return [objects[key] for key in sorted(objects)]

    def _version_before(self, key: str, resource: str, deleted_at: int) -> str:
        """The resourceVersion an object had before the change at `deleted_at`."""
        for event in reversed(self._history):
            meta = event.object["metadata"]
            if (
                event.resource_version < deleted_at
                and event.kind.plural == resource
                and storage_key(meta.get("namespace", ""), meta["name"]) == key
            ):
                return str(event.resource_version)
        return str(deleted_at)

    def events_since(self, resource_version: int) -> builtins.list[StoreEvent]:
        """Changes after `resource_version`; 410 Expired when history no longer reaches back."""
        oldest = self._history[0].resource_version if self._history else self._resource_version + 1
        if resource_version < oldest - 1:
            raise status.expired(f"too old resource version: {resource_version} ({oldest - 1})")
        return [e for e in self._history if e.resource_version > resource_version]

    def _remove(self, kind: ResourceKind, key: tuple[str, str, str]) -> JSONObject:
        removed = self._objects.pop(key)
        self._resource_version += 1
        removed["metadata"]["resourceVersion"] = str(self._resource_version)
        self._publish(StoreEvent(self._resource_version, "DELETED", kind, removed))
        return copy.deepcopy(removed)

    def _commit(
        self,
        event_type: EventType,
        kind: ResourceKind,
        key: tuple[str, str, str],
        obj: JSONObject,
        *,
        previous: JSONObject | None = None,
    ) -> JSONObject:
        self._resource_version += 1
        obj["metadata"]["resourceVersion"] = str(self._resource_version)
        self._objects[key] = obj
        self._publish(
            StoreEvent(self._resource_version, event_type, kind, copy.deepcopy(obj), previous)
        )
        return copy.deepcopy(obj)

    def _publish(self, event: StoreEvent) -> None:
        self._history.append(event)
        for subscription in list(self._subscriptions):
            subscription.put(event)

    def _namespace_for(
        self,
        kind: ResourceKind,
        namespace: str | None,
        metadata: JSONObject,
        *,
        check_exists: bool = True,
    ) -> str | None:
        if not kind.namespaced:
            metadata.pop("namespace", None)
            return None
        body_namespace = metadata.get("namespace")
        if namespace and body_namespace and body_namespace != namespace:
            raise status.bad_request(
                "the namespace of the provided object does not match the namespace sent "
                "on the request"
            )
        namespace = namespace or body_namespace
        if not namespace:
            raise status.bad_request("an empty namespace may not be set during creation")
        if check_exists and ("namespaces", "", namespace) not in self._objects:
            raise status.not_found("namespaces", namespace)
        metadata["namespace"] = namespace
        return namespace

    @staticmethod
    def _key(kind: ResourceKind, namespace: str | None, name: str) -> tuple[str, str, str]:
        return (kind.plural, (namespace or "") if kind.namespaced else "", name)
