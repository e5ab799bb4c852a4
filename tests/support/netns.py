"""Network namespaces a test makes, so each "host" reaches the others only over addresses of
namespaces the test made itself.

One hub namespace holds a bridge and the servers every host needs (Kafka, PostgreSQL, S3, the
archive) at the hub's address; each host namespace has its own address on that bridge; the
test process reaches the bridge through one more veth pair. Addresses are 10.213.N.x/24 with
an N no route of this machine uses. Everything is removed on `close()`, also after a failure.
Needs root and `ip` (iproute2); `available()` says whether the machine allows it.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field


def available() -> bool:
    return os.geteuid() == 0 and shutil.which("ip") is not None and shutil.which("setpriv") is not None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


def _free_subnet() -> int:
    routes = subprocess.run(["ip", "-4", "route"], check=True, capture_output=True, text=True, timeout=30).stdout
    used = {int(net.split(".")[2]) for net in routes.split() if net.startswith("10.213.")}
    for third in (secrets.randbelow(250) + 1 for _ in range(100)):
        if third not in used:
            return third
    raise RuntimeError("no free 10.213.N.0/24 subnet for the test's namespaces")


@dataclass
class Namespace:
    name: str
    address: str

    @property
    def exec(self) -> tuple[str, ...]:
        """The command prefix that runs a command inside this namespace."""
        return ("ip", "netns", "exec", self.name)


@dataclass
class HostNetwork:
    """A hub namespace (the bridge and the shared servers) and any number of host namespaces."""

    tag: str = field(default_factory=lambda: secrets.token_hex(2))
    subnet: int = field(default_factory=_free_subnet)
    namespaces: list[Namespace] = field(default_factory=list)
    _root_link: str | None = None

    def __post_init__(self) -> None:
        try:
            self.hub = self._namespace("hub", 1)
            _ip("-n", self.hub.name, "link", "add", "br0", "type", "bridge")
            _ip("-n", self.hub.name, "addr", "add", f"{self.hub.address}/24", "dev", "br0")
            _ip("-n", self.hub.name, "link", "set", "br0", "up")
            self._connect_root()
        except BaseException:
            self.close()
            raise

    @property
    def root_address(self) -> str:
        """The test process's own address on the bridge."""
        return self._address(254)

    def add_host(self, label: str) -> Namespace:
        number = len(self.namespaces)
        host = self._namespace(label, number + 10)
        outside, inside = f"v{self.tag}{number}a", f"v{self.tag}{number}b"
        _ip("link", "add", outside, "netns", self.hub.name, "type", "veth", "peer", "name", inside, "netns", host.name)
        _ip("-n", self.hub.name, "link", "set", outside, "master", "br0", "up")
        _ip("-n", host.name, "addr", "add", f"{host.address}/24", "dev", inside)
        _ip("-n", host.name, "link", "set", inside, "up")
        return host

    def close(self) -> None:
        for namespace in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", namespace.name], capture_output=True, timeout=30)
        if self._root_link is not None:
            subprocess.run(["ip", "link", "del", self._root_link], capture_output=True, timeout=30)

    def __enter__(self) -> HostNetwork:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _address(self, last: int) -> str:
        return str(ipaddress.IPv4Address(f"10.213.{self.subnet}.{last}"))

    def _namespace(self, label: str, last: int) -> Namespace:
        namespace = Namespace(f"phx-{self.tag}-{label}", self._address(last))
        _ip("netns", "add", namespace.name)
        self.namespaces.append(namespace)
        _ip("-n", namespace.name, "link", "set", "lo", "up")
        return namespace

    def _connect_root(self) -> None:
        outside, inside = f"v{self.tag}ra", f"v{self.tag}rb"
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside, "netns", self.hub.name)
        self._root_link = outside
        _ip("-n", self.hub.name, "link", "set", inside, "master", "br0", "up")
        _ip("addr", "add", f"{self.root_address}/24", "dev", outside)
        _ip("link", "set", outside, "up")
