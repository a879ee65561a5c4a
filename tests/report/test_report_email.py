"""The e-mail: MIME structure parsed back with the standard library, deterministic bytes, the
HTML size budget, and delivery to a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import copy
import json
import re
import ssl
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from report_examples import example_result
from smtp_servers import CERT, KEY, PASSWORD, Inbox, authenticate, free_port
from typer.testing import CliRunner

from lpip_eval.cli.commands import app
from lpip_eval.errors import UsageError
from lpip_eval.report.charts import render_charts
from lpip_eval.report.context import build_context
from lpip_eval.report.email import (
    HTML_BUDGET,
    EmailTooLargeError,
    SendError,
    build_message,
    chart_cids,
    email_html,
    html_part_size,
    message_bytes,
    send_message,
)
from lpip_eval.report.render import render_email_html

SENDER = "evaluation@example.org"
TO = ["policy@example.org", "analyst@example.org"]


def without_stamp(data: bytes) -> bytes:
    """A message without its Date and Message-ID header lines: the only lines sending
    changes (the saved .eml has a content-hash Message-ID, the sent copy a fresh one)."""
    head, body = data.split(b"\r\n\r\n", 1)
    kept = [line for line in head.split(b"\r\n")
            if not line.startswith((b"Date: ", b"Message-ID: "))]
    return b"\r\n".join(kept) + b"\r\n\r\n" + body


def parse(data: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    return message


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    return example_result("event-study")


@pytest.fixture(scope="module")
def context(result: dict[str, Any]) -> dict[str, Any]:
    return build_context([result])


@pytest.fixture(scope="module")
def charts(context: dict[str, Any]) -> dict[str, bytes]:
    return render_charts(context)


@pytest.fixture(scope="module")
def eml(context: dict[str, Any], charts: dict[str, bytes]) -> bytes:
    return message_bytes(build_message(context, charts, sender=SENDER, to=TO))


# --- structure -------------------------------------------------------------------------

def test_structure_parts_and_headers(eml: bytes, context: dict[str, Any]) -> None:
    msg = parse(eml)
    assert msg["Subject"] == context["subject"]
    assert msg["From"] == SENDER and msg["To"] == ", ".join(TO)
    assert msg["Date"] is None  # no timestamp unless asked for
    assert re.fullmatch(r"<[0-9a-f]{32}@lpip-eval\.invalid>", str(msg["Message-ID"]))
    assert msg.get_content_type() == "multipart/alternative"
    plain, related = msg.get_payload()  # type: ignore[misc]
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, *images = related.get_payload()
    assert html_part.get_content_type() == "text/html"
    assert [p.get_content_type() for p in images] == ["image/png"] * 2
    text = plain.get_content()
    assert " ".join(context["headline"].split()) in " ".join(text.split())


def test_every_cid_resolves_to_a_chart(eml: bytes, charts: dict[str, bytes]) -> None:
    msg = parse(eml)
    body = msg.get_body(("html",))
    assert body is not None
    html = body.get_content()
    referenced = re.findall(r'src="cid:([^"]+)"', html)
    attached = {str(p["Content-ID"]).strip("<>"): p.get_content()
                for p in msg.walk() if p.get_content_maintype() == "image"}
    assert referenced and sorted(referenced) == sorted(attached)
    assert sorted(attached.values()) == sorted(charts.values())  # byte for byte
    assert "data:" not in html and "<script" not in html.lower()


def test_html_part_is_under_the_gmail_budget(eml: bytes) -> None:
    msg = parse(eml)
    body = msg.get_body(("html",))
    assert body is not None
    html = body.get_content()
    assert len(html.encode("utf-8")) < HTML_BUDGET
    raw = eml.split(b"Content-Type: text/html", 1)[1].split(b"\r\n--=_rel_", 1)[0]
    assert len(raw) < HTML_BUDGET  # as transmitted (quoted-printable)
    assert html_part_size(html) < HTML_BUDGET


def test_wire_format_is_crlf_with_short_lines(eml: bytes) -> None:
    assert b"\n" not in eml.replace(b"\r\n", b"")
    assert max(len(line) for line in eml.split(b"\r\n")) <= 998
    assert eml.isascii()


def test_same_content_gives_identical_bytes(result: dict[str, Any]) -> None:
    def once() -> bytes:
        context = build_context([copy.deepcopy(result)])
        return message_bytes(build_message(context, render_charts(context), sender=SENDER,
                                           to=TO))

    assert once() == once()


def test_ids_depend_on_content_and_recipients(context: dict[str, Any],
                                              charts: dict[str, bytes]) -> None:
    a = build_message(context, charts, sender=SENDER, to=TO)
    b = build_message(context, charts, sender=SENDER, to=TO[:1])
    assert a["Message-ID"] != b["Message-ID"]
    draft = build_message(context, charts, sender=None, to=[], draft=True)
    assert draft["X-Unsent"] == "1" and draft["From"] is None and draft["To"] is None
    from datetime import UTC, datetime

    dated = build_message(context, charts, sender=SENDER, to=TO,
                          date=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert dated["Date"] == "Thu, 02 Jan 2025 03:04:05 +0000"


# --- size budget -----------------------------------------------------------------------

def _many_areas(result: dict[str, Any], n: int) -> dict[str, Any]:
    big = copy.deepcopy(result)
    codes = [f"E{900000000 + i:08d}" for i in range(n)]
    big["comparison_units"] = codes
    big["diagnostics"]["unit_names"].update(
        {c: f"Comparison district number {i} with a long name" for i, c in enumerate(codes)})
    return big


def test_too_many_areas_drop_the_list_with_a_note(result: dict[str, Any],
                                                  charts: dict[str, bytes]) -> None:
    context = build_context([_many_areas(result, 3000)])
    cids = chart_cids(charts)
    # issue 13: the list collapses to 20 areas and a count, so even the full e-mail fits
    full = render_email_html(context, cids)
    assert html_part_size(full) < HTML_BUDGET and "and 2980 more" in full
    compact = render_email_html(context, cids, compact=True)
    assert "3000 areas, listed in the JSON result" in compact
    msg = parse(message_bytes(build_message(context, charts, sender=SENDER, to=TO)))
    body = msg.get_body(("html",))
    assert body is not None and "and 2980 more" in body.get_content()


def test_html_that_cannot_fit_is_a_clear_error(context: dict[str, Any]) -> None:
    with pytest.raises(EmailTooLargeError, match=r"HTML part is \d+ KB") as info:
        email_html(context, {}, budget=4000)
    assert "\n" not in str(info.value) and info.value.hint


# --- SMTP ------------------------------------------------------------------------------

@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port,
                            authenticator=authenticate, auth_require_tls=False)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_smtp_server_receives_the_message_intact(smtp_server: tuple[Inbox, int],
                                                 context: dict[str, Any],
                                                 charts: dict[str, bytes]) -> None:
    inbox, port = smtp_server
    msg = build_message(context, charts, sender=SENDER, to=TO)
    sent = send_message(msg, host="127.0.0.1", port=port, starttls=False)
    assert len(inbox.received) == 1
    mail_from, rcpt_tos, content = inbox.received[0]
    assert mail_from == SENDER and rcpt_tos == TO
    assert content == message_bytes(sent)  # byte for byte
    assert without_stamp(content) == without_stamp(message_bytes(msg))  # only those differ
    got, sent = parse(content), parse(message_bytes(msg))
    assert [p.get_content_type() for p in got.walk()] == \
        [p.get_content_type() for p in sent.walk()]
    assert got.get_body(("html",)).get_content() == sent.get_body(("html",)).get_content()  # type: ignore[union-attr]


def test_smtp_login_with_password_from_environment(smtp_server: tuple[Inbox, int],
                                                   context: dict[str, Any],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    inbox, port = smtp_server
    msg = build_message(context, {}, sender=SENDER, to=TO[:1])
    monkeypatch.setenv("LPIP_EVAL_SMTP_PASSWORD", PASSWORD)
    send_message(msg, host="127.0.0.1", port=port, starttls=False, user="reporter")
    assert len(inbox.received) == 1
    monkeypatch.setenv("LPIP_EVAL_SMTP_PASSWORD", "wrong-password")
    with pytest.raises(SendError, match=f"via 127.0.0.1:{port}: login as 'reporter' refused"):
        send_message(msg, host="127.0.0.1", port=port, starttls=False, user="reporter")
    monkeypatch.delenv("LPIP_EVAL_SMTP_PASSWORD")
    with pytest.raises(UsageError, match="LPIP_EVAL_SMTP_PASSWORD is not set"):
        send_message(msg, host="127.0.0.1", port=port, starttls=False, user="reporter")
    assert len(inbox.received) == 1


def test_smtp_failures_are_one_line_errors_naming_the_server(
        smtp_server: tuple[Inbox, int], context: dict[str, Any]) -> None:
    _, port = smtp_server
    msg = build_message(context, {}, sender=SENDER, to=TO)
    with pytest.raises(SendError, match=f"via 127.0.0.1:{port}: the server does not offer "
                                        "STARTTLS"):
        send_message(msg, host="127.0.0.1", port=port, starttls=True)
    closed = free_port()
    with pytest.raises(SendError, match=f"via 127.0.0.1:{closed}: ") as info:
        send_message(msg, host="127.0.0.1", port=closed, starttls=False, timeout=5)
    assert "\n" not in str(info.value)
    with pytest.raises(UsageError, match="needs a sender and at least one recipient"):
        send_message(build_message(context, {}, sender=None, to=[]), host="127.0.0.1",
                     port=port, starttls=False)


@pytest.fixture
def tls_server() -> Iterator[tuple[Inbox, int]]:
    """A loopback server offering STARTTLS with the test-only certificate."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(CERT, KEY)
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=server_context,
                            require_starttls=True, authenticator=authenticate)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_starttls_encrypts_then_logs_in(tls_server: tuple[Inbox, int], context: dict[str, Any],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    inbox, port = tls_server
    msg = build_message(context, {}, sender=SENDER, to=TO)
    monkeypatch.setenv("LPIP_EVAL_SMTP_PASSWORD", PASSWORD)
    trust_test_cert = ssl.create_default_context(cafile=str(CERT))
    sent = send_message(msg, host="127.0.0.1", port=port, starttls=True, user="reporter",
                        tls_context=trust_test_cert)
    assert [content for _, _, content in inbox.received] == [message_bytes(sent)]
    # By default the certificate must be trusted by the system: a self-signed one is refused.
    with pytest.raises(SendError, match=f"via 127.0.0.1:{port}: TLS failed: .*not trusted"):
        send_message(msg, host="127.0.0.1", port=port, starttls=True, user="reporter")
    assert len(inbox.received) == 1


def test_cli_send_to_delivers_the_same_message(smtp_server: tuple[Inbox, int],
                                               result: dict[str, Any], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    inbox, port = smtp_server
    path = tmp_path / "result.json"
    path.write_text(json.dumps(result), encoding="utf-8")
    monkeypatch.setenv("LPIP_EVAL_SMTP_PASSWORD", PASSWORD)
    args = ["report", str(path), "--from", SENDER, "--smtp-host", "127.0.0.1",
            "--smtp-port", str(port), "--no-starttls", "--smtp-user", "reporter"]
    for address in TO:
        args += ["--send-to", address]
    outcome = CliRunner().invoke(app, args)
    assert outcome.exit_code == 0, outcome.output
    assert PASSWORD not in outcome.output
    context = build_context([json.loads(path.read_text(encoding="utf-8"))])
    expected = message_bytes(build_message(context, render_charts(context), sender=SENDER,
                                           to=TO))
    assert [(f, t, without_stamp(c)) for f, t, c in inbox.received] == \
        [(SENDER, TO, without_stamp(expected))]
