"""GOAWAY as RFC 9113 means it, on top of the `h2` library (python-hyper/h2#1181).

h2's connection state machine goes CLOSED on a GOAWAY sent or received and then
refuses every frame, so the streams the server promised to finish could not.
This lets a CLOSED connection go on carrying frames of the streams it has; the
caller never opens a stream on it again. It uses h2's private `_transitions`
table: tests/unit/upstream/test_h2_graceful.py fails if a new h2 changes it.
"""

from __future__ import annotations

from h2.connection import ConnectionInputs, ConnectionState, H2Connection


def finish_streams_after_goaway(connection: H2Connection) -> None:
    """After GOAWAY, existing streams go on; opening a new one stays the caller's to refuse."""
    machine = connection.state_machine
    table = dict(type(machine)._transitions)
    for event in ConnectionInputs:
        table.setdefault((ConnectionState.CLOSED, event), (None, ConnectionState.CLOSED))
    machine._transitions = table
