"""h2 after a GOAWAY: the streams it kept go on (python-hyper/h2#1181), new ones are ours to
refuse. Fails when a new h2 changes the private table the workaround extends."""

from __future__ import annotations

import h2.config
import h2.connection
import h2.events

from proxy.upstream.h2_graceful import finish_streams_after_goaway


def pair() -> tuple[h2.connection.H2Connection, h2.connection.H2Connection]:
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    finish_streams_after_goaway(client)
    client.initiate_connection()
    server.initiate_connection()
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    server.receive_data(client.data_to_send())
    return client, server


def test_stream_below_last_stream_id_finishes_after_goaway() -> None:
    client, server = pair()
    client.send_headers(1, [(":method", "GET"), (":scheme", "https"), (":authority", "a"),
                            (":path", "/watch")], end_stream=True)
    server.receive_data(client.data_to_send())
    server.send_headers(1, [(":status", "200")])
    server.close_connection(last_stream_id=1)  # h2's own server side is CLOSED from here
    goaway_and_head = server.data_to_send()
    events = client.receive_data(goaway_and_head)
    assert any(isinstance(e, h2.events.ConnectionTerminated) for e in events)
    finish_streams_after_goaway(server)
    server.send_data(1, b"event\n", end_stream=True)
    events = client.receive_data(server.data_to_send())
    data = [e.data for e in events if isinstance(e, h2.events.DataReceived)]
    assert data == [b"event\n"]
    assert any(isinstance(e, h2.events.StreamEnded) for e in events)
    client.acknowledge_received_data(6, 1)  # and the client may still answer frames
