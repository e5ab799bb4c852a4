"""Apache Kafka for the tests: the product's single-node broker (tools/broker) in a folder of
the test's own, on free ports, plus an optional SASL_PLAINTEXT listener for security tests.

Ports and data survive `stop()` and `restart()`, so clients reconnect to the same address and
find their topics and committed offsets again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tools.broker.kafka import MAX_MESSAGE_BYTES, KafkaBroker, free_port

__all__ = ["MAX_MESSAGE_BYTES", "ApacheKafka", "SaslUser"]


@dataclass(frozen=True)
class SaslUser:
    """A SASL/PLAIN user the broker accepts on its SASL_PLAINTEXT listener."""

    username: str
    password: str

    def __post_init__(self) -> None:
        # Both go unescaped into the JAAS line of server.properties.
        for value in (self.username, self.password):
            if not re.fullmatch(r"[\w.@+-]+", value):
                raise ValueError(
                    f"SASL test user names and passwords are limited to letters, digits and . @ + -: {value!r}"
                )


class ApacheKafka(KafkaBroker):
    """One KRaft node in `work_dir`; with `sasl_users`, a SASL_PLAINTEXT listener (mechanism
    PLAIN) at `sasl_bootstrap_servers` accepts those users. `host` and `namespace` (an `ip netns
    exec` command prefix) put it in a network namespace the test made."""

    def __init__(self, work_dir: Path, *, sasl_users: tuple[SaslUser, ...] = (), host: str = "127.0.0.1",
                 namespace: tuple[str, ...] = ()) -> None:
        super().__init__(work_dir, host=host)
        self.namespace = namespace
        self.sasl_users = sasl_users
        self.sasl_port = free_port() if sasl_users else None

    @property
    def sasl_bootstrap_servers(self) -> str:
        if not self.sasl_users:
            raise ValueError("this broker was started without SASL users")
        return f"{self.host}:{self.sasl_port}"

    def _java_command(self, java: str, libs: Path, main_class: str, *args: str) -> list[str]:
        return [*self.namespace, *super()._java_command(java, libs, main_class, *args)]

    def listeners(self) -> dict[str, int]:
        listeners = super().listeners()
        if self.sasl_port:
            listeners["SASL_PLAINTEXT"] = self.sasl_port
        return listeners

    def properties(self) -> dict[str, str]:
        properties = super().properties()
        if self.sasl_users:
            users = " ".join(f'user_{user.username}="{user.password}"' for user in self.sasl_users)
            properties |= {
                "sasl.enabled.mechanisms": "PLAIN",
                "listener.name.sasl_plaintext.plain.sasl.jaas.config": (
                    f"org.apache.kafka.common.security.plain.PlainLoginModule required {users};"
                ),
            }
        return properties
