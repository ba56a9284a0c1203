"""Whether the server can listen on a host and port: checked by ``qa serve`` and ``python -m ui``
before gradio is imported and the index and model are loaded (seconds), so a busy port is said at once.

Plain Python (no gradio), like ``ui.render`` and ``ui.uploads``.
"""
from __future__ import annotations

import errno
import socket

PORTS = range(1, 65536)


def listen_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port (one line), or None when it can."""
    if port not in PORTS:
        return f"port {port} is not between {PORTS.start} and {PORTS.stop - 1}; choose another with --port"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return port_in_use_message(port)
            return f"cannot listen on {host}:{port} ({exc.strerror or exc}); check --host and --port"
    return None


def port_in_use_message(port: int) -> str:
    return f"port {port} is in use; choose another with --port"
