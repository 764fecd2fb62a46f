"""Helpers shared by the tracking tests (imported by name: tests/ has no packages)."""
from __future__ import annotations

from pathlib import Path


def spool_files(spool) -> list[str]:
    """What a recorder left in its spool (journals, acks, blobs); [] when all was delivered."""
    spool = Path(spool)
    if not spool.exists():
        return []
    return sorted(str(p.relative_to(spool)) for p in spool.rglob("*") if p.is_file())


def listening_addresses(port: int) -> list[str]:
    """Local addresses of the sockets in LISTEN state on `port` (from /proc/net/tcp{,6})."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            addr, state = fields[1], fields[3]
            host_hex, port_hex = addr.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:
                if len(host_hex) == 8:  # IPv4, little-endian bytes
                    found.append(".".join(str(int(host_hex[i:i + 2], 16)) for i in (6, 4, 2, 0)))
                else:
                    found.append("ipv6:" + host_hex)
    return found
