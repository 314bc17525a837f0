"""`make bench`: kube-auth-proxy side by side with `kubectl proxy` and with no proxy at all.

One module per job: `upstream` (nginx over TLS), `events` (the watch upstream that
pushes timestamped events), `children` (starting and stopping processes), `procfs`
(CPU, memory and sockets of a process tree), `peers` (the proxies), `load` (wrk and
the 50 MB download), `streams` (held watch streams), `report` (the table and JSON).
"""
