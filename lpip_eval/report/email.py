"""The report as a ready-to-send e-mail (MIME), and sending it over SMTP.

Structure::

    multipart/alternative
      text/plain                  (render_text, 72 columns)
      multipart/related
        text/html                 (render_email_html: 600 px tables, CSS inlined)
        image/png  Content-ID     (one per chart, referenced as cid: from the HTML)

The bytes are deterministic: MIME boundaries, Content-IDs and the Message-ID are derived from
a SHA-256 of the content, and there is no Date header unless one is asked for. The HTML part
must stay under Gmail's clipping limit (102 KB); when it does not, the compact form is sent:
the list of comparison areas is left out (with a note) and each result's details become one
line instead of a table; if that is not enough, :class:`EmailTooLargeError` is raised. The
SMTP password is read from an environment variable only, never from an option, and never
appears in a message or log.

Addresses are parsed with the standard library's RFC 5322 parser (:func:`parse_addresses`),
so a display name may hold a comma. The copy that :func:`send_message` sends gets a ``Date``
and a fresh ``Message-ID`` (RFC 5322 3.6.1, 3.6.4); the ``.eml`` file keeps neither, so it
stays byte-identical between runs. Delivery failures raise :class:`DeliveryError` (exit 6)
saying which step failed: connecting, TLS, login or the server's answer.
"""

from __future__ import annotations

import copy
import email.policy
import hashlib
import os
import smtplib
import socket
import ssl
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.errors import HeaderParseError, ObsoleteHeaderDefect
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, localtime, make_msgid
from typing import Any, cast

from lpip_eval.errors import DeliveryError, LpipEvalError, UsageError, one_line
from lpip_eval.report.render import render_email_html, render_text

HTML_BUDGET = 102 * 1024  # bytes: Gmail clips message HTML above 102 KB
PASSWORD_ENV = "LPIP_EVAL_SMTP_PASSWORD"
ID_DOMAIN = "lpip-eval.invalid"


class EmailTooLargeError(LpipEvalError):
    """The e-mail's HTML part does not fit the size budget even in its compact form."""


SendError = DeliveryError  # the name this module used before exit code 6 existed


def parse_addresses(values: Sequence[str], option: str) -> list[Address]:
    """The addresses in ``values`` (each may list several, comma-separated, RFC 5322
    ``address-list``); a UsageError (exit 2) names the first value that is not an address.

    ``"Doe, John" <john@example.com>`` is one address; ``Doe, John <john@example.com>`` is
    refused because ``Doe`` has no domain.
    """
    found: list[Address] = []
    for value in values:
        one_line(value, option)
        try:
            header = email.policy.SMTP.header_factory("To", value)
            addresses = list(header.addresses)
            defects = [d for d in header.defects if not isinstance(d, ObsoleteHeaderDefect)]
        except (HeaderParseError, ValueError, IndexError):  # the parser's own slips
            addresses, defects = [], ["unparseable"]
        if defects or not addresses or any(not a.username or not a.domain for a in addresses):
            raise UsageError(f"{option} {value!r} is not an e-mail address",
                             hint='write name@example.org or "Name, Given" '
                                  '<name@example.org>; quote a name that holds a comma')
        found.extend(addresses)
    return found


def stamped_copy(msg: EmailMessage, now: datetime | None = None) -> EmailMessage:
    """The copy of ``msg`` to send: a ``Date`` (now, local time) and a unique ``Message-ID``
    in the sender's domain, so a re-sent report is a new message, not a duplicate."""
    sent = copy.deepcopy(msg)
    del sent["Date"], sent["Message-ID"]
    sent["Date"] = format_datetime(now or localtime())
    sender = sent["From"]
    domain = sender.addresses[0].domain if sender and sender.addresses else ID_DOMAIN
    sent["Message-ID"] = make_msgid(domain=domain or ID_DOMAIN)
    return sent


def chart_cids(charts: Mapping[str, bytes]) -> dict[str, str]:
    """Content-IDs (without angle brackets) for the chart images, derived from their bytes."""
    return {key: f"{_safe(key)}.{hashlib.sha256(png).hexdigest()[:16]}@{ID_DOMAIN}"
            for key, png in charts.items()}


def _safe(key: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in key)


def html_part_size(html: str) -> int:
    """Bytes of the HTML part on the wire (quoted-printable, CRLF), as Gmail measures it."""
    probe = EmailMessage(policy=email.policy.SMTP)
    probe.set_content(html, subtype="html", cte="quoted-printable")
    wire = str(probe.get_payload()).replace("\r\n", "\n").replace("\n", "\r\n")
    return max(len(html.encode("utf-8")), len(wire.encode("ascii")))


def email_html(context: Mapping[str, Any], cids: Mapping[str, str],
               budget: int = HTML_BUDGET) -> str:
    """The HTML part within ``budget`` bytes: the full version, else the compact one (no
    comparison-area lists, each result's details as one line)."""
    html = render_email_html(context, cids)
    if html_part_size(html) <= budget:
        return html
    html = render_email_html(context, cids, compact=True)
    size = html_part_size(html)
    if size > budget:
        raise EmailTooLargeError(
            f"the e-mail's HTML part is {size / 1024:.0f} KB even without the lists of "
            f"comparison areas; mail programs such as Gmail cut messages above "
            f"{budget / 1024:.0f} KB",
            hint="send the HTML report (--report) as an attachment instead")
    return html


def build_message(context: Mapping[str, Any], charts: Mapping[str, bytes], *,
                  sender: str | Address | None, to: Sequence[str | Address],
                  date: datetime | None = None,
                  draft: bool = False) -> EmailMessage:
    """The report as a MIME message (see the module docstring for its structure).

    ``sender``/``to`` may be empty (a file to open in a mail program); ``date`` adds a Date
    header; ``draft`` adds ``X-Unsent: 1`` so that Outlook and Thunderbird open the file as a
    message ready to send.
    """
    cids = chart_cids(charts)
    text = render_text(context)
    html = email_html(context, cids)
    recipients = [str(address) for address in to if address]
    sender = str(sender or "")
    digest = hashlib.sha256()
    pieces = [s.encode("utf-8") for s in (sender, "\n".join(recipients),
                                          str(context["subject"]), text, html)]
    for piece in [*pieces, *charts.values()]:
        digest.update(len(piece).to_bytes(8, "big") + piece)
    token = digest.hexdigest()

    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Subject"] = str(context["subject"])
    if sender:
        msg["From"] = sender
    if recipients:
        msg["To"] = ", ".join(recipients)
    if date is not None:
        msg["Date"] = format_datetime(date)
    msg["Message-ID"] = f"<{token[:32]}@{ID_DOMAIN}>"
    if draft:
        msg["X-Unsent"] = "1"
    msg.set_content(text, subtype="plain", cte="quoted-printable")
    msg.add_alternative(html, subtype="html", cte="quoted-printable")
    html_part = cast(EmailMessage, list(msg.iter_parts())[1])
    for key, png in charts.items():
        html_part.add_related(png, maintype="image", subtype="png", cid=f"<{cids[key]}>",
                              disposition="inline", filename=f"{_safe(key)}.png")
    msg.set_boundary(f"=_alt_{token[:24]}")
    if charts:
        html_part.set_boundary(f"=_rel_{token[24:48]}")
    return msg


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as sent: SMTP policy (CRLF line ends)."""
    return msg.as_bytes(policy=email.policy.SMTP)


def send_message(msg: EmailMessage, *, host: str, port: int, starttls: bool = True,
                 user: str | None = None, password_env: str = PASSWORD_ENV,
                 timeout: float = 30.0, tls_context: ssl.SSLContext | None = None,
                 ca_file: str | None = None) -> EmailMessage:
    """Send a stamped copy of ``msg`` (:func:`stamped_copy`) to its To recipients over SMTP
    and return that copy; a failure raises a one-line :class:`DeliveryError` (exit 6).

    STARTTLS verifies the server's certificate against the system's trusted authorities, or
    those in ``ca_file`` (a private authority); ``tls_context`` replaces both.
    """
    where = f"{host}:{port}"
    sender_header, to_header = msg["From"], msg["To"]
    sender = sender_header.addresses[0].addr_spec if sender_header else ""
    recipients = [a.addr_spec for a in to_header.addresses] if to_header else []
    if not sender or not recipients:
        raise UsageError("the e-mail needs a sender and at least one recipient",
                         hint="give --from ADDRESS and --send-to ADDRESS")
    password = None
    if user:
        password = os.environ.get(password_env)
        if not password:
            raise UsageError(f"SMTP user '{user}' given but the environment variable "
                             f"{password_env} is not set",
                             hint=f"export {password_env}=... (passwords are never options)")
    if starttls and tls_context is None:
        tls_context = tls_client_context(ca_file)
    sent = stamped_copy(msg)
    data = message_bytes(sent)
    step = "connecting"
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            step = "greeting"
            smtp.ehlo()
            if starttls:
                if not smtp.has_extn("starttls"):
                    raise DeliveryError(f"cannot send the e-mail via {where}: the server does "
                                        "not offer STARTTLS",
                                        hint="use a server that does, or --no-starttls on a "
                                             "trusted network")
                step = "tls"
                smtp.starttls(context=tls_context)
                smtp.ehlo()
            if user and password:
                step = "login"
                smtp.login(user, password)
            step = "sending"
            refused = smtp.sendmail(sender, recipients, data)
    except DeliveryError:
        raise
    except (smtplib.SMTPException, OSError) as exc:  # ssl.SSLError is an OSError
        raise _delivery_error(exc, step, where, user, password_env, timeout) from None
    if refused:
        raise DeliveryError(f"the e-mail was sent via {where} but refused for "
                            f"{', '.join(sorted(refused))}", hint="check those addresses")
    return sent


def tls_client_context(ca_file: str | None = None) -> ssl.SSLContext:
    """A verifying TLS client context: the system's authorities, or those in ``ca_file``
    (PEM); a file that cannot be read is a UsageError naming it."""
    if ca_file is None:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"--smtp-ca-file {ca_file}: cannot read a PEM certificate "
                         f"({_one_line(getattr(exc, 'strerror', None) or str(exc))})",
                         hint="give the PEM file of your private certificate authority") \
            from None


def _delivery_error(exc: BaseException, step: str, where: str, user: str | None,
                    password_env: str, timeout: float) -> DeliveryError:
    """One line saying what failed: refused or timed-out connection, TLS, login, answer."""
    head = f"cannot send the e-mail via {where}"
    server = "check --smtp-host and --smtp-port"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return DeliveryError(f"{head}: login as '{user}' refused ({exc.smtp_code} "
                             f"{_reason(exc.smtp_error)})",
                             hint=f"check --smtp-user and {password_env}")
    if isinstance(exc, smtplib.SMTPNotSupportedError) and step == "login":
        return DeliveryError(f"{head}: the server offers no login (AUTH) on this connection",
                             hint="most servers offer it only after --starttls; or drop "
                                  "--smtp-user")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return DeliveryError(f"{head}: every recipient was refused "
                             f"({', '.join(sorted(exc.recipients))})",
                             hint="check the --send-to addresses")
    if isinstance(exc, smtplib.SMTPResponseException):
        return DeliveryError(f"{head}: the server answered {exc.smtp_code} "
                             f"{_reason(exc.smtp_error)}",
                             hint="check the server settings and addresses")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return DeliveryError(f"{head}: TLS failed: the server's certificate is not trusted "
                             f"({_one_line(exc.verify_message or str(exc))})",
                             hint="if your organisation runs its own certificate authority, "
                                  "give it with --smtp-ca-file PATH.pem")
    if isinstance(exc, ssl.SSLError) or step == "tls":
        return DeliveryError(f"{head}: TLS failed ({_one_line(str(exc)) or type(exc).__name__})",
                             hint="check that --smtp-port is the server's STARTTLS port "
                                  "(usually 587)")
    timed_out = isinstance(exc, TimeoutError | socket.timeout) or "timed out" in str(exc)
    if timed_out and step == "login":
        return DeliveryError(f"{head}: no answer within {timeout:g} s after the login as "
                             f"'{user}' (some servers stay silent on a wrong password)",
                             hint=f"check --smtp-user and {password_env}")
    if timed_out:
        return DeliveryError(f"{head}: timed out after {timeout:g} s while {_STEPS[step]}",
                             hint=f"{server}; --smtp-timeout SECONDS waits longer")
    if isinstance(exc, ConnectionRefusedError):
        return DeliveryError(f"{head}: connection refused (nothing listens there)",
                             hint=server)
    if isinstance(exc, socket.gaierror):
        return DeliveryError(f"{head}: unknown host ({_one_line(str(exc))})", hint=server)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return DeliveryError(f"{head}: the server closed the connection while {_STEPS[step]}",
                             hint=f"{server}, and --starttls")
    return DeliveryError(f"{head}: {_one_line(str(exc)) or type(exc).__name__} while "
                         f"{_STEPS[step]}", hint=server)


_STEPS = {"connecting": "connecting (or waiting for the server's greeting)",
          "greeting": "waiting for the server's greeting", "tls": "starting TLS",
          "login": "logging in", "sending": "sending the message"}


def _reason(error: bytes | str) -> str:
    return _one_line(error.decode("utf-8", "replace") if isinstance(error, bytes) else error)


def _one_line(text: str) -> str:
    return " ".join(text.split())

