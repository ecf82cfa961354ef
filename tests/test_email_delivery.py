"""SMTP delivery semantics against a real SMTP server on 127.0.0.1 (aiosmtpd)."""

from __future__ import annotations

import time

import psycopg

from flows.publish.emails import deliver, queue_rendered


def queue(url: str, *names: str) -> None:
    with psycopg.connect(url) as conn:
        queue_rendered(conn, [
            {"key": f"test:{n}", "template": "test", "to_id": n, "to_email": f"{n}@staff.test.example", "to_name": n,
             "subject": f"Hello {n}", "text": "hi", "html": "<p>hi &amp; welcome</p>", "sender": "T <t@test.example>"}
            for n in names
        ])


def state(url: str, name: str) -> tuple[str, int, str | None]:
    with psycopg.connect(url) as conn:
        return conn.execute("select state, attempts, last_error from plaudit.outbox where dedupe_key = %s",
                            [f"test:{name}"]).fetchone()


def test_a_4xx_is_retried_and_then_delivered_once(fresh_db, smtp_sink):
    queue(fresh_db, "ann")
    smtp_sink.script = ["451 4.3.0 Try again later"]
    r = deliver(fresh_db)
    assert (r.sent, r.failed, r.deferred) == (1, 0, 0)
    assert state(fresh_db, "ann") == ("sent", 2, None)
    [msg] = smtp_sink.received
    assert msg["Subject"] == "Hello ann" and msg["Message-ID"].endswith("@plaudit.invalid>")
    assert [p.get_content_type() for p in msg.walk()] == ["multipart/alternative", "text/plain", "text/html"]
    assert deliver(fresh_db).sent == 0 and len(smtp_sink.received) == 1


def test_a_5xx_fails_the_message_with_the_server_reason(fresh_db, smtp_sink):
    queue(fresh_db, "bob", "cid")
    smtp_sink.script = ["550 5.1.1 Mailbox unavailable"]
    r = deliver(fresh_db)
    assert (r.sent, r.failed) == (1, 1)
    states = sorted([state(fresh_db, "bob"), state(fresh_db, "cid")])
    assert states == [("failed", 1, "refused: 550 5.1.1 Mailbox unavailable"), ("sent", 1, None)]
    assert deliver(fresh_db).sent == 0  # a failed message is not sent again by itself


def test_a_persistent_4xx_stays_queued_and_goes_out_once_on_the_next_run(fresh_db, smtp_sink):
    queue(fresh_db, "dee")
    smtp_sink.script = ["421 4.7.0 Too busy"] * 3
    r = deliver(fresh_db)
    assert (r.sent, r.deferred) == (0, 1)
    st, attempts, error = state(fresh_db, "dee")
    assert (st, attempts) == ("queued", 3) and "421 4.7.0 Too busy" in error
    assert deliver(fresh_db).sent == 1
    assert len(smtp_sink.received) == 1 and state(fresh_db, "dee")[:2] == ("sent", 4)


def test_the_rate_limit_paces_messages(fresh_db, smtp_sink, monkeypatch):
    monkeypatch.setenv("PLAUDIT_SMTP_RATE_PER_MINUTE", "300")  # one every 0.2 s
    queue(fresh_db, "e1", "e2", "e3", "e4")
    t0 = time.monotonic()
    assert deliver(fresh_db).sent == 4
    assert time.monotonic() - t0 >= 0.6


def _self_signed(folder, host: str = "127.0.0.1"):
    """A certificate for 127.0.0.1 (its own CA), as PEM files: (cert, key)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "smtp.pem", folder / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def test_starttls_and_login_verify_the_server_and_refuse_a_wrong_password(fresh_db, tmp_path, monkeypatch):
    """A real SMTP server on 127.0.0.1 that requires STARTTLS before AUTH. Plaudit upgrades, checks the
    certificate against PLAUDIT_SMTP_CA_FILE, logs in and delivers; a wrong password or an unknown
    certificate fails the message with the reason, and nothing goes out in clear text."""
    import socket
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult
    from conftest import SmtpSink

    cert, key = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((session.ssl is not None, auth_data.login))
        ok = (auth_data.login, auth_data.password) == (b"plaudit", b"s3cret")
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 235 or 535 itself

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port, tls_context=server_tls, require_starttls=True,
                            authenticator=authenticator, auth_require_tls=True)
    controller.start()
    try:
        monkeypatch.setenv("PLAUDIT_SMTP_BACKOFF_SECONDS", "0.01")
        monkeypatch.setenv("PLAUDIT_SMTP_RATE_PER_MINUTE", "0")
        monkeypatch.setenv("PLAUDIT_SMTP_URL", f"smtp+starttls://plaudit:wrong@127.0.0.1:{port}")
        monkeypatch.setenv("PLAUDIT_SMTP_CA_FILE", str(cert))
        queue(fresh_db, "ann")
        assert deliver(fresh_db).failed == 1
        s, _, err = state(fresh_db, "ann")
        assert s == "failed" and "535" in err, err

        monkeypatch.delenv("PLAUDIT_SMTP_CA_FILE")  # the system CAs do not know this server
        monkeypatch.setenv("PLAUDIT_SMTP_URL", f"smtp+starttls://plaudit:s3cret@127.0.0.1:{port}")
        queue(fresh_db, "bob")
        deliver(fresh_db)
        s, _, err = state(fresh_db, "bob")
        assert s == "failed" and "CERTIFICATE_VERIFY_FAILED" in err, err

        monkeypatch.setenv("PLAUDIT_SMTP_CA_FILE", str(cert))
        queue(fresh_db, "cid")
        assert deliver(fresh_db).sent == 1
        assert state(fresh_db, "cid")[0] == "sent"
        assert [m["To"] for m in sink.received] == ["cid <cid@staff.test.example>"]
        assert all(tls for tls, _ in logins)  # every login happened inside TLS
    finally:
        controller.stop()
