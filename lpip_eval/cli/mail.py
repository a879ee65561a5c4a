"""``--send-to`` and the SMTP options, shared by every command that can e-mail a report.

The addresses and the TLS settings are checked before anything is written (a UsageError,
exit 2); sending happens after the files are written, and a failure is a DeliveryError
(exit 6; docs/design.md, "Exit codes").
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.headerregistry import Address
from typing import Annotated, Any

import typer

from lpip_eval.errors import UsageError

SendTo = Annotated[list[str] | None, typer.Option(
    "--send-to", help="E-mail it to this address (repeatable; a display name with a comma "
    "needs quotes: '\"Doe, John\" <john@example.com>'). The e-mail is sent after the files "
    "are written; exit 6 when it cannot be delivered.")]
Sender = Annotated[str | None, typer.Option("--from", help="Sender address.")]
SmtpHost = Annotated[str, typer.Option("--smtp-host", help="SMTP server.")]
SmtpPort = Annotated[int, typer.Option("--smtp-port", help="SMTP port.")]
StartTls = Annotated[bool, typer.Option("--starttls/--no-starttls",
                                        help="Upgrade the connection with STARTTLS.")]
SmtpCaFile = Annotated[str | None, typer.Option(
    "--smtp-ca-file", help="Trust the SMTP server's certificate if this PEM file's authority "
    "signed it (a private CA), instead of the system's authorities.", metavar="PATH.pem")]
SmtpTimeout = Annotated[float, typer.Option(
    "--smtp-timeout", help="Seconds to wait for the SMTP server at each step.", min=0.1)]
SmtpUser = Annotated[str | None, typer.Option(
    "--smtp-user", help="SMTP user; the password is read from the environment variable "
    "LPIP_EVAL_SMTP_PASSWORD, never from an option.")]


@dataclass(frozen=True)
class Delivery:
    """Where and how to send: checked addresses and the SMTP settings."""

    to: tuple[Address, ...]
    sender: Address
    host: str
    port: int
    starttls: bool
    timeout: float
    user: str | None
    tls: ssl.SSLContext | None

    def smtp(self) -> dict[str, Any]:
        """Keyword arguments of :func:`lpip_eval.report.email.send_message`."""
        return {"host": self.host, "port": self.port, "starttls": self.starttls,
                "user": self.user, "timeout": self.timeout, "tls_context": self.tls}


def delivery(send_to: list[str] | None, sender: str | None, *, host: str, port: int,
             starttls: bool, ca_file: str | None, timeout: float, user: str | None
             ) -> Delivery | None:
    """The checked delivery for ``--send-to`` (None when not asked for); call it before
    writing anything, so that a bad address costs no work."""
    if not send_to:
        return None
    from lpip_eval.report.email import parse_addresses, tls_client_context

    if not sender:
        raise UsageError("--send-to needs --from ADDRESS", hint="add --from you@example.org")
    to = parse_addresses(send_to, "--send-to")
    senders = parse_addresses([sender], "--from")
    if len(senders) != 1:
        raise UsageError(f"--from {sender!r} must be one address",
                         hint="give the one sender address")
    tls = tls_client_context(ca_file) if starttls else None
    return Delivery(to=tuple(to), sender=senders[0], host=host, port=port, starttls=starttls,
                    timeout=timeout, user=user, tls=tls)


def send(how: Delivery, sender: Callable[..., object]) -> None:
    """Call ``sender(sender=, to=, **smtp)``, warning first when a password would travel
    without TLS, and say where it went."""
    from lpip_eval.cli.console import error_console

    err = error_console()
    if how.user and not how.starttls:
        err.print(f"Warning: the password for '{how.user}' travels to {how.host} without TLS "
                  "(--no-starttls); anyone on the network path can read it", soft_wrap=True)
    sender(sender=how.sender, to=list(how.to), **how.smtp())
    err.print(f"Sent the e-mail to {', '.join(a.addr_spec for a in how.to)} via "
              f"{how.host}:{how.port}", soft_wrap=True)
