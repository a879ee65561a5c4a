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
"""

from __future__ import annotations

import email.policy
import hashlib
import os
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, cast

from lpip_eval.errors import LpipEvalError
from lpip_eval.report.render import render_email_html, render_text

HTML_BUDGET = 102 * 1024  # bytes: Gmail clips message HTML above 102 KB
PASSWORD_ENV = "LPIP_EVAL_SMTP_PASSWORD"
ID_DOMAIN = "lpip-eval.invalid"


class EmailTooLargeError(LpipEvalError):
    """The e-mail's HTML part does not fit the size budget even in its compact form."""


class SendError(LpipEvalError):
    """The SMTP server could not be reached, refused the login, or refused the message."""


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
                  sender: str | None, to: Sequence[str], date: datetime | None = None,
                  draft: bool = False) -> EmailMessage:
    """The report as a MIME message (see the module docstring for its structure).

    ``sender``/``to`` may be empty (a file to open in a mail program); ``date`` adds a Date
    header; ``draft`` adds ``X-Unsent: 1`` so that Outlook and Thunderbird open the file as a
    message ready to send.
    """
    cids = chart_cids(charts)
    text = render_text(context)
    html = email_html(context, cids)
    recipients = [address for address in to if address]
    digest = hashlib.sha256()
    pieces = [s.encode("utf-8") for s in (sender or "", "\n".join(recipients),
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
                 timeout: float = 30.0, tls_context: ssl.SSLContext | None = None) -> None:
    """Send ``msg`` to its To recipients over SMTP; failures raise a one-line SendError.

    STARTTLS verifies the server's certificate against the system's trusted authorities
    (``tls_context`` replaces that, e.g. for a private authority).
    """
    where = f"{host}:{port}"
    sender = str(msg.get("From") or "")
    recipients = [a.strip() for a in str(msg.get("To") or "").split(",") if a.strip()]
    if not sender or not recipients:
        raise SendError("the e-mail needs a sender and at least one recipient",
                        hint="give --from ADDRESS and --send-to ADDRESS")
    password = None
    if user:
        password = os.environ.get(password_env)
        if not password:
            raise SendError(f"SMTP user '{user}' given but the environment variable "
                            f"{password_env} is not set",
                            hint=f"export {password_env}=... (passwords are never options)")
    data = message_bytes(msg)
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            smtp.ehlo()
            if starttls:
                if not smtp.has_extn("starttls"):
                    raise SendError(f"cannot send the e-mail via {where}: the server does not "
                                    "offer STARTTLS",
                                    hint="use a server that does, or --no-starttls on a "
                                         "trusted network")
                smtp.starttls(context=tls_context or ssl.create_default_context())
                smtp.ehlo()
            if user and password:
                smtp.login(user, password)
            refused = smtp.sendmail(sender, recipients, data)
    except SendError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise SendError(f"cannot send the e-mail via {where}: login as '{user}' refused "
                        f"({exc.smtp_code})",
                        hint=f"check --smtp-user and {password_env}") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise SendError(f"cannot send the e-mail via {where}: every recipient was refused "
                        f"({', '.join(sorted(exc.recipients))})",
                        hint="check the --send-to addresses") from None
    except smtplib.SMTPResponseException as exc:
        reason = exc.smtp_error.decode("utf-8", "replace") if isinstance(
            exc.smtp_error, bytes) else str(exc.smtp_error)
        raise SendError(f"cannot send the e-mail via {where}: the server answered "
                        f"{exc.smtp_code} {_one_line(reason)}",
                        hint="check the server settings and addresses") from None
    except (smtplib.SMTPException, OSError) as exc:
        reason = _one_line(str(exc)) or type(exc).__name__
        raise SendError(f"cannot send the e-mail via {where}: {reason}",
                        hint="check --smtp-host, --smtp-port and --starttls") from None
    if refused:
        raise SendError(f"the e-mail was sent via {where} but refused for "
                        f"{', '.join(sorted(refused))}", hint="check those addresses")


def _one_line(text: str) -> str:
    return " ".join(text.split())
