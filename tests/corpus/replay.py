"""Replay the corpus against the fake in recording order, and judge every case.

Setup steps and cases run one after another on fresh connections; a concurrent
group opens all its streams together, runs its `during` steps once its short
streams have ended (and at least 4 s after opening), and cuts each stream after
its own `open_for_s`, so recorded times (`end.after_s`) stay comparable.
Cases out of scope are not sent unless later cases depend on what they change.
"""

from __future__ import annotations

import asyncio
import base64
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from tests.corpus.compare import compare
from tests.corpus.corpus import Case, Corpus, Group, SetupStep
from tests.corpus.fakes import Servers, start_servers
from tests.corpus.placeholders import (
    MissingValue,
    capture,
    fill,
    fill_headers,
    generate_body,
    new_namespace,
)
from tests.corpus.scope import reason_out_of_scope
from tests.corpus.summary import summarise
from tests.corpus.wire import WireRequest, send

DEFAULT_WAIT_S = 5.0  # a reply that is not a recorded stream must end within this
GROUP_SETTLE_S = 4.0  # `during` steps run no earlier than this after a group opens
GROUP_SETTLE_MAX_S = 8.0  # ...and no later, even if a short stream is still open


@dataclass
class Outcome:
    """One case or setup step after replay: what the fake said and what differed."""

    summary: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    skipped: str | None = None


@dataclass
class Replay:
    cases: dict[str, Outcome] = field(default_factory=dict)
    setup: dict[str, Outcome] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)


def _body(request: dict[str, Any], values: dict[str, str], known: frozenset[str]) -> bytes | None:
    if "body" in request:
        return fill(str(request["body"]), values, known=known).encode()
    if "body_b64" in request:
        return base64.b64decode(request["body_b64"])
    if "body_generated" in request:
        return generate_body(request["body_generated"], values)
    return None


def _ended_by_itself_early(case: Case) -> bool:
    """Whether the recording shows this group member finished within the settle time."""
    response = case.response
    end = (response.get("watch") or {}).get("end") or response.get("stream_end")
    if end is None:
        return True
    return end.get("by") == "server" and float(end.get("after_s", 0)) <= GROUP_SETTLE_S


class Replayer:
    def __init__(self, corpus: Corpus, servers: Servers) -> None:
        self.corpus = corpus
        self.servers = servers
        self.result = Replay(values={"<ns>": new_namespace(), **servers.values})
        self.known = frozenset(corpus.placeholder_sources)

    async def _exchange(
        self, request: dict[str, Any], *, field_paths: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        server = self.servers.server_for(request)
        if server is None:
            raise MissingValue(self.servers.short_timeout_missing)
        values, known = self.result.values, self.known
        wire_request = WireRequest(
            method=str(request["method"]),
            target=fill(str(request["path"]), values, known=known),
            headers=fill_headers(request.get("headers") or {}, values, known=known),
            body=_body(request, values, known),
            open_for_s=float(request.get("open_for_s") or DEFAULT_WAIT_S),
            websocket=bool(request.get("websocket")),
        )
        context = self.servers.ssl_context(server, request.get("client_cert"))
        response = await send(wire_request, host=server.host, port=server.port,
                              ssl_context=context)
        summary = summarise(
            response,
            stream="open_for_s" in request,
            websocket=wire_request.websocket,
            field_paths=field_paths,
        )
        summary["_response"] = response
        return summary

    def _remember(self, provides: dict[str, Any], summary: dict[str, Any]) -> None:
        self.result.values.update(capture(provides, summary["_response"], summary.get("document")))

    async def run_step(self, step: SetupStep) -> None:
        outcome = Outcome()
        self.result.setup[step.id] = outcome
        try:
            summary = await self._exchange(step.request)
        except MissingValue as error:
            outcome.problems.append(str(error))
            return
        outcome.summary = _public(summary)
        if summary.get("status") not in step.ok_status:
            said = summary.get("message") or summary.get("text") or ""
            outcome.problems.append(
                f"status {summary.get('status')} not in {list(step.ok_status)}: {said}"
            )
        self._remember(step.provides, summary)

    async def run_case(self, case: Case) -> None:
        outcome = Outcome(skipped=reason_out_of_scope(case))
        if case.raw["request"].get("server") and self.servers.server_for(case.request) is None:
            outcome.skipped = self.servers.short_timeout_missing
        self.result.cases[case.id] = outcome
        if outcome.skipped and not case.needed_for_state:
            return
        want = case.response
        try:
            summary = await self._exchange(
                case.request, field_paths=tuple(want.get("fields") or ())
            )
        except MissingValue as error:
            outcome.problems.append(str(error))
            return
        self._remember(case.provides, summary)
        outcome.summary = _public(summary)
        outcome.problems = compare(
            want, summary, values=self.result.values,
            nondeterministic=str(case.raw.get("nondeterministic") or ""),
        )

    async def run_group(self, group: Group) -> None:
        loop = asyncio.get_running_loop()
        opened = loop.time()
        tasks = {case.id: asyncio.create_task(self.run_case(case)) for case in group.cases}
        early = [tasks[case.id] for case in group.cases if _ended_by_itself_early(case)]
        await asyncio.sleep(GROUP_SETTLE_S)
        if early:
            await asyncio.wait(early, timeout=max(0.0, opened + GROUP_SETTLE_MAX_S - loop.time()))
        for step in group.during:
            await self.run_step(step)
        await asyncio.gather(*tasks.values())

    async def run(self) -> Replay:
        for item in self.corpus.plan():
            if isinstance(item, SetupStep):
                await self.run_step(item)
            elif isinstance(item, Group):
                await self.run_group(item)
            else:
                await self.run_case(item)
        return self.result


def _public(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if not k.startswith("_") and k != "document"}


async def replay_corpus(corpus: Corpus) -> Replay:
    """Start the fakes, replay everything, stop them."""
    async with AsyncExitStack() as stack:
        servers = await start_servers(stack)
        return await Replayer(corpus, servers).run()
