"""Mail peers for the e2e scenarios: a private Postfix instance, SMTP and LMTP sinks built on
aiosmtpd, swaks, and a self-signed certificate maker.

Run with Debian's /usr/bin/python3 (python3-aiosmtpd). The Postfix instance lives in a temp
directory with its own config, queue, data directory and log file; it never touches
/etc/postfix/main.cf or the system instance. It needs root (Postfix's master runs as root and
drops to `mail_owner` postfix; the queue belongs to postfix and group postdrop).

Postfix routes mail for `lmtp_domains` to `lmtp:inet:127.0.0.1:PORT` through a transport map,
and everything else to `relayhost = [127.0.0.1]:relay_port` (an SmtpSink), or bounces it when
there is no relay port. Postfix logs to a file (`log()`): there is no syslog on these machines,
so without maillog_file its errors would be invisible."""

import atexit
import email
import email.policy
import json
import logging
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import AuthResult, LoginPassword

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
POSTQUEUE = shutil.which("postqueue") or "/usr/sbin/postqueue"
POSTMAP = shutil.which("postmap") or "/usr/sbin/postmap"
SWAKS = shutil.which("swaks") or "/usr/bin/swaks"

# aiosmtpd 1.4 itself sets the deprecated Session.login_data after every AUTH and warns about it.
logging.getLogger("mail.log").addFilter(
    lambda record: "login_data is deprecated" not in record.getMessage())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port} after {timeout}s")


def swaks(*args, timeout=60):
    """Runs swaks with `args`; returns the CompletedProcess (text stdout/stderr, not checked).
    Example: swaks("--server", "127.0.0.1", "--port", str(port), "--to", "a@b.test",
    "--from", "c@d.test", "--header", "Message-ID: <x@test>")."""
    return subprocess.run([SWAKS, *[str(a) for a in args]], capture_output=True, text=True,
                          timeout=timeout)


def make_self_signed_cert(dir=None, cn="localhost"):
    """A self-signed P-256 certificate for `cn` (also valid for IP 127.0.0.1), made with the
    openssl command line. Returns (certfile, keyfile); `dir` defaults to a new temp dir,
    removed at exit."""
    if dir is None:
        dir = tempfile.mkdtemp(prefix="parley-cert-")
        atexit.register(shutil.rmtree, dir, True)
    cert = os.path.join(dir, "cert.pem")
    key = os.path.join(dir, "key.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                        "-subj", f"/CN={cn}", "-addext", f"subjectAltName=DNS:{cn},IP:127.0.0.1",
                        "-keyout", key, "-out", cert],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"openssl req failed: {r.stderr}")
    return cert, key


# --------------------------------------------------------------------------- sinks

class Message:
    """One message a sink accepted. `rcpt_tos` are the recipients it accepted (for LMTP, those
    answered 2xx after DATA); `replies` maps every recipient of the transaction to the final
    reply it got; `data` is the raw content as received (bytes, dot-unstuffed). `mail_from`
    is the bare reverse-path: "" for the null sender of a DSN (aiosmtpd itself says "<>")."""

    def __init__(self, mail_from, rcpt_tos, data, replies, mail_options=(), authenticated=None,
                 tls=False):
        self.mail_from = "" if mail_from in (None, "<>") else mail_from
        self.rcpt_tos = list(rcpt_tos)
        self.data = data
        self.replies = dict(replies)
        self.mail_options = list(mail_options)
        self.authenticated = authenticated
        self.tls = tls

    @property
    def message(self):
        """The content parsed as an email.message.EmailMessage."""
        return email.message_from_bytes(self.data, policy=email.policy.default)

    def __repr__(self):
        return f"Message(from={self.mail_from!r}, to={self.rcpt_tos!r}, {len(self.data)} bytes)"


def _norm(address):
    return address.strip().strip("<>").lower()


class _Handler:
    """The aiosmtpd handler shared by both sinks: per-recipient replies at RCPT time, and for
    LMTP also after DATA. Replies are looked up case-insensitively by bare address."""

    def __init__(self, sink):
        self.sink = sink

    def _reply(self, table, fail_first, seen, address):
        key = _norm(address)
        with self.sink._lock:
            if key in fail_first and key not in seen:
                seen.add(key)
                return fail_first[key]
            return table.get(key)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        sink = self.sink
        reply = self._reply(sink.rcpt_replies, sink.fail_first, sink._seen_rcpt, address)
        with sink._lock:
            sink.rcpt_log.append((address, reply or "250 OK"))
        if reply is not None and not reply.startswith("2"):
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(rcpt_options)
        return reply or "250 OK"

    async def handle_DATA(self, server, session, envelope):
        sink = self.sink
        raw = envelope.original_content
        if raw is None:
            raw = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        replies = {}
        for rcpt in envelope.rcpt_tos:
            reply = None
            if sink.lmtp:
                reply = self._reply(sink.data_replies, sink.data_fail_first, sink._seen_data, rcpt)
            replies[rcpt] = reply or "250 2.0.0 OK"
        accepted = [r for r, reply in replies.items() if reply.startswith("2")]
        if accepted:
            msg = Message(envelope.mail_from, accepted, raw, replies, envelope.mail_options,
                          session.authenticated, server._tls_protocol is not None)
            with sink._lock:
                sink._messages.append(msg)
                sink._cond.notify_all()
        if sink.lmtp:
            # LMTP (RFC 2033): one reply per accepted RCPT, in order. aiosmtpd pushes the
            # returned string followed by CRLF, so CRLF-joined lines become several replies.
            return "\r\n".join(replies[r] for r in envelope.rcpt_tos)
        return "250 OK"


class _LmtpController(Controller):
    def factory(self):
        return LMTP(self.handler, **self.SMTP_kwargs)


class SmtpSink:
    """An aiosmtpd SMTP server in a background thread on 127.0.0.1, recording what it accepts.

    rcpt_replies: {address: reply} answered at RCPT, e.g. "550 5.1.1 No such user here".
    fail_first:   {address: reply} answered only the first time the address is seen at RCPT
                  (e.g. "451 4.3.0 Try again later"); later it is accepted.
    require_auth: (user, password): AUTH PLAIN/LOGIN required before MAIL (530 otherwise).
    tls_cert:     (certfile, keyfile): offers STARTTLS and requires it before MAIL (and AUTH).
    The reply tables are plain dicts, safe to change while running (under `sink.lock()`
    if you want atomic updates); addresses are matched lower-cased."""

    lmtp = False

    def __init__(self, port=None, rcpt_replies=None, fail_first=None, require_auth=None,
                 tls_cert=None, hostname="sink.test"):
        self.port = port or free_port()
        self.rcpt_replies = {_norm(k): v for k, v in (rcpt_replies or {}).items()}
        self.fail_first = {_norm(k): v for k, v in (fail_first or {}).items()}
        self.data_replies = {}
        self.data_fail_first = {}
        self.require_auth = require_auth
        self.tls_cert = tls_cert
        self.hostname = hostname
        self.rcpt_log = []  # (address, reply) for every RCPT seen
        self._messages = []
        self._seen_rcpt = set()
        self._seen_data = set()
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._controller = None

    def lock(self):
        return self._lock

    def _smtp_kwargs(self):
        kw = {"server_hostname": self.hostname, "enable_SMTPUTF8": True, "decode_data": False}
        if self.tls_cert is not None:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(*self.tls_cert)
            kw["tls_context"] = ctx
            kw["require_starttls"] = True
        if self.require_auth is not None:
            user, password = self.require_auth
            want = (user.encode(), password.encode())

            def authenticator(server, session, envelope, mechanism, auth_data):
                ok = (isinstance(auth_data, LoginPassword)
                      and (auth_data.login, auth_data.password) == want)
                return AuthResult(success=ok, handled=False)

            kw["authenticator"] = authenticator
            kw["auth_required"] = True
            # aiosmtpd refuses AUTH before STARTTLS by default; without a cert allow it plain.
            kw["auth_require_tls"] = self.tls_cert is not None
        return kw

    def start(self):
        cls = _LmtpController if self.lmtp else Controller
        self._controller = cls(_Handler(self), hostname="127.0.0.1", port=self.port,
                               **self._smtp_kwargs())
        self._controller.start()
        return self

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    @property
    def messages(self):
        with self._lock:
            return list(self._messages)

    def wait_for(self, count=1, timeout=20.0):
        """Waits until at least `count` messages arrived; returns all of them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{type(self).__name__} on port {self.port}: "
                                         f"{len(self._messages)} of {count} messages after "
                                         f"{timeout}s: {self._messages!r}")
                self._cond.wait(left)
            return list(self._messages)

    def clear(self):
        with self._lock:
            self._messages.clear()
            self.rcpt_log.clear()


class LmtpSink(SmtpSink):
    """The same sink speaking LMTP (LHLO; one reply per recipient after DATA).

    On top of SmtpSink's RCPT-time tables:
    data_replies:    {address: reply} answered for that recipient after DATA, e.g. "550 5.1.1
                     No such user" or "452 4.2.2 Mailbox full"; others get "250 2.0.0 OK".
    data_fail_first: {address: reply} answered after DATA only the first time."""

    lmtp = True

    def __init__(self, port=None, rcpt_replies=None, fail_first=None, data_replies=None,
                 data_fail_first=None, hostname="lmtp-sink.test"):
        super().__init__(port=port, rcpt_replies=rcpt_replies, fail_first=fail_first,
                         hostname=hostname)
        self.data_replies = {_norm(k): v for k, v in (data_replies or {}).items()}
        self.data_fail_first = {_norm(k): v for k, v in (data_fail_first or {}).items()}


# --------------------------------------------------------------------------- Postfix

def _master_cf(smtpd_port):
    # No chroot anywhere (5th column "n"): a chroot would need copies of /etc files in the
    # queue directory. postlogd is required for maillog_file.
    services = [
        (f"127.0.0.1:{smtpd_port}", "inet", "n", "-", "n", "-", "-", "smtpd"),
        ("pickup", "unix", "n", "-", "n", "60", "1", "pickup"),
        ("cleanup", "unix", "n", "-", "n", "-", "0", "cleanup"),
        ("qmgr", "unix", "n", "-", "n", "300", "1", "qmgr"),
        ("rewrite", "unix", "-", "-", "n", "-", "-", "trivial-rewrite"),
        ("bounce", "unix", "-", "-", "n", "-", "0", "bounce"),
        ("defer", "unix", "-", "-", "n", "-", "0", "bounce"),
        ("trace", "unix", "-", "-", "n", "-", "0", "bounce"),
        ("verify", "unix", "-", "-", "n", "-", "1", "verify"),
        ("flush", "unix", "n", "-", "n", "1000?", "0", "flush"),
        ("proxymap", "unix", "-", "-", "n", "-", "-", "proxymap"),
        ("proxywrite", "unix", "-", "-", "n", "-", "1", "proxymap"),
        ("smtp", "unix", "-", "-", "n", "-", "-", "smtp"),
        ("relay", "unix", "-", "-", "n", "-", "-", "smtp"),
        ("showq", "unix", "n", "-", "n", "-", "-", "showq"),
        ("error", "unix", "-", "-", "n", "-", "-", "error"),
        ("retry", "unix", "-", "-", "n", "-", "-", "error"),
        ("discard", "unix", "-", "-", "n", "-", "-", "discard"),
        ("lmtp", "unix", "-", "-", "n", "-", "-", "lmtp"),
        ("anvil", "unix", "-", "-", "n", "-", "1", "anvil"),
        ("scache", "unix", "-", "-", "n", "-", "1", "scache"),
        ("postlog", "unix-dgram", "n", "-", "n", "-", "1", "postlogd"),
    ]
    return "".join(" ".join(s) + "\n" for s in services)


class PostfixInstance:
    """A private Postfix in a temp directory. Use as a context manager (start/stop).

    lmtp_domains: {domain: port} delivered with lmtp:inet:127.0.0.1:port.
    relay_port:   everything else goes to relayhost [127.0.0.1]:relay_port; None bounces it.
    port:         the smtpd port on 127.0.0.1 (picked when None).
    queue_run_delay / minimal_backoff_time / maximal_backoff_time: retry pace of deferred mail.
    queue_lifetime: maximal_queue_lifetime and bounce_queue_lifetime ("0" = try only once).
    extra_main:   {parameter: value} appended to main.cf (overrides the above).

    Layout under `dir`: etc/ (main.cf, master.cf, transport), spool/ (queue_directory),
    data/ (data_directory), log/maillog."""

    def __init__(self, lmtp_domains=None, relay_port=None, port=None, myhostname="mx.parley.test",
                 queue_run_delay="5s", minimal_backoff_time="5s", maximal_backoff_time="10s",
                 queue_lifetime="60s", extra_main=None):
        self.lmtp_domains = dict(lmtp_domains or {})
        self.relay_port = relay_port
        self._port = port or free_port()
        self.myhostname = myhostname
        self.dir = tempfile.mkdtemp(prefix="parley-postfix-")
        # mkdtemp makes it 0700: the postfix user must be able to reach its queue below it.
        os.chmod(self.dir, 0o755)
        self.config_dir = os.path.join(self.dir, "etc")
        self.queue_dir = os.path.join(self.dir, "spool")
        self.data_dir = os.path.join(self.dir, "data")
        self.log_dir = os.path.join(self.dir, "log")
        self.log_path = os.path.join(self.log_dir, "maillog")
        for d in (self.config_dir, self.queue_dir, self.log_dir):
            os.mkdir(d, 0o755)  # root-owned; Postfix creates the queue's subdirectories
        os.mkdir(self.data_dir, 0o700)
        shutil.chown(self.data_dir, "postfix", "postfix")
        self.running = False

        transport = "".join(f"{d} lmtp:inet:127.0.0.1:{p}\n" for d, p in self.lmtp_domains.items())
        with open(os.path.join(self.config_dir, "transport"), "w") as f:
            f.write(transport)
        params = {
            "compatibility_level": "3.6",
            "config_directory": self.config_dir,
            "queue_directory": self.queue_dir,
            "data_directory": self.data_dir,
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "maillog_file": self.log_path,
            "maillog_file_prefixes": self.log_dir,
            "syslog_name": "postfix-e2e",
            "myhostname": myhostname,
            "mydomain": myhostname.partition(".")[2] or myhostname,
            "myorigin": "$myhostname",
            "mydestination": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "relay_domains": ", ".join(self.lmtp_domains) or "",
            "transport_maps": "texthash:" + os.path.join(self.config_dir, "transport"),
            "relayhost": f"[127.0.0.1]:{relay_port}" if relay_port else "",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "smtputf8_enable": "yes",
            "smtpd_tls_security_level": "none",
            "smtp_tls_security_level": "none",
            "lmtp_tls_security_level": "none",
            "smtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            "lmtp_host_lookup": "native",
            "smtpd_peername_lookup": "no",
            "biff": "no",
            "append_dot_mydomain": "no",
            "in_flow_delay": "0",
            "queue_run_delay": queue_run_delay,
            "minimal_backoff_time": minimal_backoff_time,
            "maximal_backoff_time": maximal_backoff_time,
            "maximal_queue_lifetime": queue_lifetime,
            "bounce_queue_lifetime": queue_lifetime,
            "lmtp_connection_cache_time_limit": "1s",
            "smtp_connection_cache_time_limit": "1s",
        }
        if not relay_port:
            params["default_transport"] = "error:5.7.1 no relay in this test"
            params["relay_transport"] = "error:5.7.1 no relay in this test"
        params.update(extra_main or {})
        with open(os.path.join(self.config_dir, "main.cf"), "w") as f:
            f.write("".join(f"{k} = {v}\n" for k, v in params.items()))
        with open(os.path.join(self.config_dir, "master.cf"), "w") as f:
            f.write(_master_cf(self._port))

    @property
    def port(self):
        return self._port

    def _run(self, *args, check=True, timeout=60):
        r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                           env={**os.environ, "MAIL_CONFIG": self.config_dir})
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({r.returncode}): {r.stdout}{r.stderr}"
                                 f"\n--- maillog:\n{self.log()[-4000:]}")
        return r

    def postfix(self, *args, check=True):
        return self._run(POSTFIX, "-c", self.config_dir, *args, check=check)

    def start(self):
        """postfix check, postfix start, then waits for smtpd. `postfix check` does not look
        at parameter values: a bad one only kills the daemon that reads it (qmgr, say) while
        master lives on, so start() also fails on a fatal/panic line in the maillog."""
        self.postfix("check")
        self.postfix("start")
        self.running = True
        atexit.register(self.stop)
        wait_for_port(self._port)
        time.sleep(0.2)  # lets qmgr and pickup read main.cf
        errors = self.errors()
        if errors:
            raise AssertionError("Postfix reported errors at start:\n" + "\n".join(errors))
        return self

    def errors(self):
        """The fatal and panic lines of the maillog (Postfix daemons die on these)."""
        return re.findall(r"^.*\b(?:fatal|panic): .*$", self.log(), re.M)

    def _pids(self):
        """Processes of this instance: they carry MAIL_CONFIG=<our config dir>."""
        want = b"MAIL_CONFIG=" + self.config_dir.encode() + b"\0"
        pids = []
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == os.getpid():
                continue
            try:
                with open(f"/proc/{name}/environ", "rb") as f:
                    if want in f.read() + b"\0":
                        pids.append(int(name))
            except OSError:
                pass
        return pids

    def stop(self, timeout=10.0):
        if self.running:
            self.postfix("stop", check=False)
            self.running = False
        deadline = time.monotonic() + timeout
        while self._pids() and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in self._pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def flush(self):
        """Attempts delivery of all queued mail now (postfix flush)."""
        self.postfix("flush")

    def queue(self):
        """The queued messages, as postqueue -j dicts (queue_name, queue_id, sender,
        recipients [{address, delay_reason}], arrival_time, message_size...)."""
        r = self._run(POSTQUEUE, "-c", self.config_dir, "-j")
        return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]

    def wait_queue_empty(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        while True:
            q = self.queue()
            if not q:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"Postfix queue not empty after {timeout}s: {q}")
            time.sleep(0.1)

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=20.0):
        """Waits until the maillog matches the regex `pattern`; returns the match."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.log(), re.M)
            if m:
                return m
            if time.monotonic() > deadline:
                raise AssertionError(f"maillog has no {pattern!r} after {timeout}s:\n"
                                     f"{self.log()[-4000:]}")
            time.sleep(0.1)

    def dump_log(self):
        sys.stderr.write(self.log()[-20000:])

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.dump_log()
        self.stop()
        if not os.environ.get("PARLEY_E2E_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        return False
