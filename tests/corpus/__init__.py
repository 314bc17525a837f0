"""Replay of the recorded kube-apiserver corpus against the fake API server.

Layout: `corpus` loads cases and setup steps and merges them into a plan;
`placeholders` fills requests in; `wire` sends exactly the recorded bytes over TLS;
`summary` describes a reply the way the recording did; `compare` checks it against
the recording; `fakes` starts the servers; `scope` says what the fake need not match;
`replay` drives it all in recording order.
"""
