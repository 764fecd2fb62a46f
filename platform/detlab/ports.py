"""TCP ports on this machine: a free one to bind a server to, and whether one answers.

One place for both, so that the servers the platform starts (MLflow, Optuna's dashboard, a
local Ray) and the checks that something already listens (a Ray address, a killed server
in the chaos benchmark) agree on what "free" and "answers" mean.
"""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now at ``host`` (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def answers(host: str, port: int, timeout: float = 3.0) -> bool:
    """Whether something accepts a TCP connection at ``host:port`` within ``timeout`` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
