"""Free ports on 127.0.0.1 for a cluster of processes (workers, parameter servers) to be wired with."""
from __future__ import annotations

import socket

__all__ = ["PortsUnavailable", "free_ports"]


class PortsUnavailable(OSError):
    """No loopback port could be bound, so no cluster can be wired here."""


def free_ports(count: int) -> list[int]:
    """Ports on 127.0.0.1 that were free a moment ago (held together, so they differ)."""
    sockets = []
    try:
        for _ in range(count):
            handle = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(handle)  # before bind, so a socket that fails to bind is closed too
            handle.bind(("127.0.0.1", 0))
        return [handle.getsockname()[1] for handle in sockets]
    except OSError as error:
        raise PortsUnavailable(f"cannot bind a port on 127.0.0.1 ({error})") from None
    finally:
        for handle in sockets:
            handle.close()
