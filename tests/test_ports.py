"""detlab.ports: the free port is really free, and `answers` tells a listening port from a closed one."""

from __future__ import annotations

import socket

from detlab.ports import answers, free_port


def test_a_free_port_can_be_bound_and_answers_only_while_something_listens():
    port = free_port()
    assert not answers("127.0.0.1", port, timeout=1.0)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", port))
        server.listen()
        assert answers("127.0.0.1", port, timeout=1.0)
    assert not answers("127.0.0.1", port, timeout=1.0)

