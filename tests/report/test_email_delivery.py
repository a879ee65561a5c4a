"""Sending the report (``lpip-eval report --send-to``): addresses parsed by the standard
library, one-line header values, delivery failures as exit 6 saying what failed, TLS with a
private authority, and a Date and unique Message-ID on the copy that is sent (issue 10,
items 9, 13 and 14). Servers are aiosmtpd on 127.0.0.1 only."""

from __future__ import annotations

import json
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from cli_runner import run_cli
from report_examples import example_result
from smtp_servers import (
    CERT,
    PASSWORD,
    authenticate_silently,
    free_port,
    mute_server,
    smtp_server,
)

from lpip_eval.errors import EXIT_DELIVERY, EXIT_USAGE, DeliveryError, UsageError
from lpip_eval.report.email import parse_addresses

SENDER = "evaluation@example.org"


def parse(data: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    return message


@pytest.fixture(scope="module")
def result_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("result") / "result.json"
    path.write_text(json.dumps(example_result("twfe")), encoding="utf-8")
    return path


def send_args(result_json: Path, port: int, *to: str, sender: str = SENDER) -> list[str]:
    args = ["report", str(result_json), "--from", sender, "--smtp-host", "127.0.0.1",
            "--smtp-port", str(port), "--no-starttls", "--smtp-timeout", "2"]
    for address in to:
        args += ["--send-to", address]
    return args


def one_error_line(stderr: str, *mentions: str) -> str:
    lines = [line for line in stderr.splitlines() if not line.startswith("Warning:")]
    assert "Traceback" not in stderr
    assert len(lines) == 1 and lines[0].startswith("Error: "), stderr
    for text in mentions:
        assert text in lines[0], (text, lines[0])
    return lines[0]


# --- item 13: addresses --------------------------------------------------------------------

def test_display_name_with_a_comma_reaches_the_real_address(
        result_json: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with smtp_server() as (inbox, port):
        code, _, stderr = run_cli(send_args(result_json, port, '"Doe, John" <john@example.com>',
                                            "a@example.org, b@example.org"),
                                  tmp_path, monkeypatch)
    assert code == 0, stderr
    [(mail_from, rcpt_tos, content)] = inbox.received
    assert mail_from == SENDER
    assert rcpt_tos == ["john@example.com", "a@example.org", "b@example.org"]
    to = parse(content)["To"]
    assert [a.display_name for a in to.addresses] == ["Doe, John", "", ""]


@pytest.mark.parametrize("option, value", [
    ("--send-to", "not an address"),
    ("--send-to", "Doe, John <john@example.com>"),  # unquoted comma: 'Doe' has no domain
    ("--send-to", "john@"),
    ("--send-to", "a@b@c"),
    ("--from", "me"),
])
def test_invalid_addresses_are_usage_errors_naming_them(
        result_json: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        option: str, value: str) -> None:
    with smtp_server() as (inbox, port):
        args = (send_args(result_json, port, value) if option == "--send-to"
                else send_args(result_json, port, "ok@example.org", sender=value))
        code, _, stderr = run_cli([*args, "--eml", "out.eml"], tmp_path, monkeypatch)
    assert code == EXIT_USAGE, stderr
    one_error_line(stderr, option, repr(value))
    assert inbox.received == []
    assert not (tmp_path / "out.eml").exists()  # checked before any output is written


def test_parse_addresses_keeps_names_and_refuses_garbage() -> None:
    parsed = parse_addresses(['"Doe, John" <john@example.com>', "x@example.org"], "--send-to")
    assert [a.addr_spec for a in parsed] == ["john@example.com", "x@example.org"]
    assert str(parsed[0]) == '"Doe, John" <john@example.com>'
    with pytest.raises(UsageError, match="--send-to 'nope' is not an e-mail address"):
        parse_addresses(["nope"], "--send-to")


# --- item 9: line breaks in values that become headers --------------------------------------

@pytest.mark.parametrize("option", ["--send-to", "--from"])
@pytest.mark.parametrize("brk", ["\r\n", "\n", "\r"])
def test_line_breaks_in_addresses_are_one_error_line(
        result_json: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        option: str, brk: str) -> None:
    value = f"ok@example.com{brk}Bcc: attacker@example.com"
    with smtp_server() as (inbox, port):
        args = (send_args(result_json, port, value) if option == "--send-to"
                else send_args(result_json, port, "ok@example.org", sender=value))
        code, _, stderr = run_cli(args, tmp_path, monkeypatch)
    assert code == EXIT_USAGE, stderr
    one_error_line(stderr, option, "line break")
    assert inbox.received == []


# --- item 14: delivery failures ----------------------------------------------------------

def test_connection_refused_exits_6_and_says_so(
        result_json: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    code, _, stderr = run_cli(send_args(result_json, port, "ok@example.org"), tmp_path,
                              monkeypatch)
    assert code == EXIT_DELIVERY == 6, stderr
    one_error_line(stderr, f"127.0.0.1:{port}", "connection refused", "--smtp-port")


def test_server_that_never_answers_is_a_timeout(
        result_json: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with mute_server() as port:
        code, _, stderr = run_cli(send_args(result_json, port, "ok@example.org"), tmp_path,
                                  monkeypatch)
    assert code == EXIT_DELIVERY, stderr
    one_error_line(stderr, "timed out", "2 s", "--smtp-timeout")


def test_wrong_password_says_authentication_not_host(
        result_json: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LPIP_EVAL_SMTP_PASSWORD", "wrong-password")
    with smtp_server() as (inbox, port):  # the server answers 535
        code, _, stderr = run_cli([*send_args(result_json, port, "ok@example.org"),
                                   "--smtp-user", "reporter"], tmp_path, monkeypatch)
    assert code == EXIT_DELIVERY, stderr
    line = one_error_line(stderr, "login as 'reporter' refused", "LPIP_EVAL_SMTP_PASSWORD")
    assert "--smtp-host" not in line and "wrong-password" not in stderr
    with smtp_server(authenticate_silently) as (inbox, port):  # the server says nothing
        code, _, stderr = run_cli([*send_args(result_json, port, "ok@example.org"),
                                   "--smtp-user", "reporter"], tmp_path, monkeypatch)
    assert code == EXIT_DELIVERY, stderr
    line = one_error_line(stderr, "login as 'reporter'", "no answer", "LPIP_EVAL_SMTP_PASSWORD")
    assert "--smtp-host" not in line
    assert inbox.received == []


def test_password_without_tls_is_warned_about(
        result_json: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LPIP_EVAL_SMTP_PASSWORD", PASSWORD)
    with smtp_server() as (inbox, port):
        code, _, stderr = run_cli([*send_args(result_json, port, "ok@example.org"),
                                   "--smtp-user", "reporter"], tmp_path, monkeypatch)
    assert code == 0, stderr
    assert len(inbox.received) == 1
    warnings = [line for line in stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and "without TLS" in warnings[0], stderr
    assert PASSWORD not in stderr


def test_untrusted_certificate_is_a_tls_failure_and_a_private_ca_fixes_it(
        result_json: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LPIP_EVAL_SMTP_PASSWORD", PASSWORD)
    with smtp_server(tls=True) as (inbox, port):
        args = ["report", str(result_json), "--from", SENDER, "--send-to", "ok@example.org",
                "--smtp-host", "127.0.0.1", "--smtp-port", str(port), "--smtp-user",
                "reporter", "--smtp-timeout", "5"]
        code, _, stderr = run_cli(args, tmp_path, monkeypatch)
        assert code == EXIT_DELIVERY, stderr
        line = one_error_line(stderr, "TLS", "certificate", "--smtp-ca-file")
        assert "--starttls" not in line
        code, _, stderr = run_cli([*args, "--smtp-ca-file", str(CERT)], tmp_path, monkeypatch)
        assert code == 0, stderr
        assert "Warning" not in stderr
    assert len(inbox.received) == 1
    code, _, stderr = run_cli([*args, "--smtp-ca-file", str(tmp_path / "missing.pem")],
                              tmp_path, monkeypatch)
    assert code == EXIT_USAGE, stderr
    one_error_line(stderr, "--smtp-ca-file", "missing.pem")


def test_sent_copy_has_a_date_and_a_fresh_message_id_while_the_eml_stays_identical(
        result_json: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with smtp_server() as (inbox, port):
        for name in ("one.eml", "two.eml"):
            code, _, stderr = run_cli([*send_args(result_json, port, "ok@example.org"),
                                       "--eml", name], tmp_path, monkeypatch)
            assert code == 0, stderr
    assert (tmp_path / "one.eml").read_bytes() == (tmp_path / "two.eml").read_bytes()
    saved = parse((tmp_path / "one.eml").read_bytes())
    assert saved["Date"] is None
    sent = [parse(content) for _, _, content in inbox.received]
    assert all(m["Date"] is not None and m["Date"].datetime.tzinfo for m in sent)
    ids = [str(m["Message-ID"]) for m in sent]
    assert len(set(ids)) == 2 and all(i.endswith("@example.org>") for i in ids)
    assert str(saved["Message-ID"]) not in ids
    # Apart from those two headers, what is sent is what was saved.
    for message in sent:
        assert message.get_body(("html",)).get_content() == \
            saved.get_body(("html",)).get_content()  # type: ignore[union-attr]


def test_delivery_error_class_maps_to_exit_6() -> None:
    assert DeliveryError("x").exit_code == EXIT_DELIVERY == 6


def test_exit_code_6_is_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "| 6 |" in readme
    code, out, _ = run_cli(["report", "--help"], root, monkeypatch)
    assert code == 0 and "exit 6" in " ".join(out.split()).lower()
