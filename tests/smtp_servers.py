"""Loopback SMTP servers for the e-mail tests (aiosmtpd on 127.0.0.1 only)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

PASSWORD = "s3cret-Pa55"
REFERENCE = Path(__file__).resolve().parent / "reference"
CERT, KEY = REFERENCE / "smtp_test_cert.pem", REFERENCE / "smtp_test_key.pem"  # SOURCE.md


class Inbox:
    """aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                 auth_data: Any) -> AuthResult:
    """Accept user 'reporter' with PASSWORD; refuse anything else with a 535 answer."""
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"reporter"
          and auth_data.password == PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


def authenticate_silently(server: Any, session: Any, envelope: Any, mechanism: str,
                          auth_data: Any) -> AuthResult:
    """Like :func:`authenticate`, but a refused login gets no answer at all (aiosmtpd's
    ``handled=True``): the client waits for its timeout, as the hostile-inputs review saw."""
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"reporter"
          and auth_data.password == PASSWORD.encode())
    return AuthResult(success=ok)


@contextmanager
def smtp_server(authenticator: Callable[..., AuthResult] = authenticate, *,
                tls: bool = False) -> Iterator[tuple[Inbox, int]]:
    """A server on 127.0.0.1; ``tls`` offers (and requires) STARTTLS with the test
    certificate, which no system authority trusts."""
    inbox = Inbox()
    port = free_port()
    if tls:
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_context.load_cert_chain(CERT, KEY)
        controller = Controller(inbox, hostname="127.0.0.1", port=port,
                                tls_context=server_context, require_starttls=True,
                                authenticator=authenticator)
    else:
        controller = Controller(inbox, hostname="127.0.0.1", port=port,
                                authenticator=authenticator, auth_require_tls=False)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@contextmanager
def mute_server() -> Iterator[int]:
    """A port that accepts connections but never says anything (no SMTP banner)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        yield int(listener.getsockname()[1])
