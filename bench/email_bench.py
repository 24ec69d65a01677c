#!/usr/bin/env python3
"""The measuring half of bench/run_email.sh: inbound mails per second through parleyd's email
gateway over LMTP, delivered to a user who is online, and parleyd's CPU time per mail.

    email_bench.py run --lmtp-port P --c2s-port P --server-pid PID ... --json FILE
    email_bench.py report --json-dir DIR --markdown FILE

`run` logs one XMPP user in over plaintext c2s (SCRAM, initial presence), opens CONNECTIONS
LMTP connections (LHLO once each), then does one warm-up run and RUNS measured runs. In each
run every connection sends its share of the mails one transaction after the other: MAIL FROM,
RCPT TO and DATA in one write (parleyd offers PIPELINING), the three replies (250, 250, 354),
then the content and the final dot, and the recipient's reply (LMTP: one per recipient) before
the next transaction on that connection. No RSET between transactions. Every mail is built
before the run starts: about 1.5 KB, From, To, Subject, a unique Message-ID, Date,
MIME-Version, text/plain UTF-8 in quoted-printable with non-ASCII text, one recipient.

The user's XMPP connection records when each <message> arrives and the message-id of its
<mail xmlns='urn:parley:email:0'/>, so every mail is checked to arrive exactly once.

Figures per run: mails/s = mails that arrived / time from the first write to the last arrival;
LMTP latency = final dot written to the recipient's reply read (p50/p99); end-to-end latency =
MAIL FROM written to the stanza read; parleyd CPU-µs per mail = utime+stime (/proc/PID/stat)
from the first write until parleyd has gone quiet after the last arrival / mails; parleyd's
VmRSS before and after the run; this tool's own CPU % (one thread: near 100 % means the tool,
not parleyd, was the bottleneck).
"""

import argparse
import email.utils
import json
import os
import quopri
import re
import selectors
import shutil
import socket
import statistics
import sys
import time

# The XMPP client (SCRAM login over a raw socket) and the /proc probes are sms_bench.py's.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sms_bench import TICK_US, Client, core_ticks, cpu_ticks, fmt, steal_ticks, wait_quiet  # noqa: E402


def log(text):
    print(f"[email_bench] {text}", file=sys.stderr, flush=True)


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def percentile(values, p):
    """Nearest rank."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


# ---- mails ---------------------------------------------------------------------------------

TEXT = """Hallo Alice,

kurze Rückmeldung zu unserem Treffen: Wir sehen uns am Donnerstag um 14:30 im Café
„Zur Brücke“ gegenüber vom Bahnhof. Bitte bring die Unterlagen für das Angebot mit – vor
allem die Übersicht der Kosten (ca. 1.250 €) und die Skizzen vom Grundriss.

Zur Anreise: Parkplätze gibt es hinter dem Gebäude, der Eingang ist über den Hof
(zweite Tür links, 3. OG). Ich reserviere einen Tisch für drei Personen.

Falls es dir nicht passt, schlag gern einen anderen Termin vor; ich bin die ganze Woche
erreichbar, außer Freitagvormittag.

Merci beaucoup et à bientôt ! Привет из Москвы, 東京からこんにちは.

Viele Grüße
{sender}

--
{sender} · Projektbüro Nord · Tel. +49 40 1234567
Diese Nachricht ist Nummer {seq} der Serie {run}.
"""


def build_mail(run, seq, sender, recipient, domain):
    """One transaction: (envelope commands, content with the final dot, message-id)."""
    message_id = f"bench-{run}-{seq}-{os.getpid()}@{domain}"
    body = quopri.encodestring(TEXT.format(sender=sender.split("@")[0].title(), seq=seq, run=run)
                               .replace("\n", "\r\n").encode("utf-8"))
    headers = (f"Return-Path: <{sender}>\r\n"
               f"Received: from mx.example.org (mx.example.org [192.0.2.25])\r\n"
               f"\tby mx.parley.test with ESMTPS id {run:02d}{seq:08d}\r\n"
               f"\tfor <{recipient}>; {email.utils.formatdate(localtime=False)}\r\n"
               f"From: {sender.split('@')[0].title()} Beispiel <{sender}>\r\n"
               f"To: Alice <{recipient}>\r\n"
               f"Subject: =?utf-8?q?Treffen_am_Donnerstag_=E2=80=93_Unterlagen_{seq}?=\r\n"
               f"Message-ID: <{message_id}>\r\n"
               f"Date: {email.utils.formatdate(localtime=False)}\r\n"
               "User-Agent: Mozilla Thunderbird 115.6\r\n"
               "Content-Language: de-DE\r\n"
               "MIME-Version: 1.0\r\n"
               "Content-Type: text/plain; charset=utf-8\r\n"
               "Content-Transfer-Encoding: quoted-printable\r\n"
               "\r\n").encode()
    content = headers + body
    if not content.endswith(b"\r\n"):
        content += b"\r\n"
    # Dot-stuffing (RFC 5321 §4.5.2); the text has no such line, this keeps it correct anyway.
    content = content.replace(b"\r\n.", b"\r\n..")
    envelope = f"MAIL FROM:<{sender}> SIZE={len(content)}\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode()
    return envelope, content + b".\r\n", message_id


# ---- LMTP ----------------------------------------------------------------------------------

class Lmtp:
    """One LMTP connection (or, for --via postfix, SMTP) with its queue of mails for the run,
    driven by Driver."""

    def __init__(self, port, hello=b"LHLO"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        greeting = self.read_reply_blocking()
        if not greeting.startswith(b"220"):
            raise RuntimeError(f"greeting: {greeting!r}")
        self.sock.sendall(hello + b" bench.example.org\r\n")
        lhlo = self.read_reply_blocking()
        if not lhlo.startswith(b"250"):
            raise RuntimeError(f"{hello.decode()}: {lhlo!r}")
        self.pipelining = b"PIPELINING" in lhlo
        self.sock.settimeout(None)
        self.queue = []
        self.state = "idle"

    def read_reply_blocking(self):
        """One complete (possibly multi-line) reply."""
        while True:
            reply = self.take_reply()
            if reply is not None:
                return reply
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("the LMTP server closed the connection")
            self.buf += chunk

    def take_reply(self):
        """A complete reply from the buffer, or None."""
        start = 0
        while True:
            end = self.buf.find(b"\r\n", start)
            if end < 0:
                return None
            line = self.buf[start:end]
            if len(line) < 4 or line[3:4] != b"-":
                reply = self.buf[:end + 2]
                self.buf = self.buf[end + 2:]
                return reply
            start = end + 2


class Driver:
    def __init__(self, args, receiver, connections):
        self.args = args
        self.receiver = receiver
        self.conns = connections
        self.sel = selectors.DefaultSelector()
        for c in connections:
            self.sel.register(c.sock, selectors.EVENT_READ, c)
        self.sel.register(receiver.sock, selectors.EVENT_READ, receiver)
        self.rx_buf = b""
        self.arrivals = {}  # message-id -> first arrival time
        self.stanzas = 0
        self.duplicates = 0
        self.errors = 0

    # XMPP side: whole <message/> elements, a message-id each.
    MID = re.compile(rb"""<mail\s[^>]*message-id=(?:'([^']*)'|"([^"]*)")""")

    def on_xmpp(self, now):
        try:
            chunk = self.receiver.sock.recv(1 << 20)
        except BlockingIOError:
            return
        if not chunk:
            raise RuntimeError("the server closed the XMPP connection")
        self.rx_buf += chunk
        end = self.rx_buf.rfind(b"</message>")
        if end < 0:
            return
        end += len(b"</message>")
        done, self.rx_buf = self.rx_buf[:end], self.rx_buf[end:]
        self.stanzas += done.count(b"<message ") + done.count(b"<message>")
        self.errors += done.count(b"type='error'") + done.count(b'type="error"')
        for m in self.MID.finditer(done):
            mid = (m.group(1) or m.group(2)).decode()
            if mid in self.arrivals:
                self.duplicates += 1
            else:
                self.arrivals[mid] = now

    # LMTP side: one transaction in flight per connection.
    def start_next(self, c, now):
        if not c.queue:
            c.state = "idle"
            return
        envelope, content, mid = c.queue.pop()
        c.current = (content, mid)
        c.started = now
        self.sent_at[mid] = now
        if c.pipelining:
            c.sock.sendall(envelope)
            c.state, c.pending = "envelope", []
        else:
            c.commands = envelope.split(b"\r\n")[:-1]
            c.sock.sendall(c.commands.pop(0) + b"\r\n")
            c.state, c.pending = "envelope", []

    def on_lmtp(self, c, now):
        chunk = c.sock.recv(65536)
        if not chunk:
            raise RuntimeError("the LMTP server closed a connection")
        c.buf += chunk
        while True:
            reply = c.take_reply()
            if reply is None:
                return
            if c.state == "envelope":
                c.pending.append(reply)
                if not c.pipelining and len(c.pending) < 3 and reply[:1] == b"2":
                    c.sock.sendall(c.commands.pop(0) + b"\r\n")
                    continue
                if len(c.pending) < 3 and reply[:1] == b"2":
                    continue
                if c.pending[-1].startswith(b"354"):
                    c.sock.sendall(c.current[0])
                    c.data_at = time.time()
                    c.state = "data"
                else:
                    self.refused.append((c.current[1], b" / ".join(c.pending).decode(errors="replace").strip()))
                    if len(c.pending) < 3 and not c.pipelining:
                        c.sock.sendall(b"RSET\r\n")
                        c.state = "rset"
                    elif len(c.pending) < 3:
                        c.state = "drain"  # the remaining pipelined replies still come
                    else:
                        self.start_next(c, now)
            elif c.state == "drain":
                c.pending.append(reply)
                if len(c.pending) >= 3:
                    self.start_next(c, now)
            elif c.state == "rset":
                self.start_next(c, now)
            elif c.state == "data":
                self.lmtp_ms.append((now - c.data_at) * 1000)
                if reply.startswith(b"250"):
                    self.accepted += 1
                else:
                    self.refused.append((c.current[1], reply.decode(errors="replace").strip()))
                self.last_reply_at = now
                self.start_next(c, now)
            else:
                raise RuntimeError(f"unexpected LMTP reply {reply!r}")

    def step(self, timeout):
        for key, _ in self.sel.select(timeout):
            now = time.time()
            if key.data is self.receiver:
                self.on_xmpp(now)
            else:
                self.on_lmtp(key.data, now)

    def measure(self, run, count):
        args = self.args
        mails = []
        for k in range(count):
            sender = f"{args.sender_prefix}{k % args.senders}@{args.sender_domain}"
            mails.append(build_mail(run, k, sender, args.recipient, args.sender_domain))
        sizes = [len(m[1]) for m in mails]
        for i, c in enumerate(self.conns):
            c.queue = mails[i::len(self.conns)]
            c.queue.reverse()  # popped from the end, so each connection sends in order
        ids = {m[2] for m in mails}
        self.sent_at, self.lmtp_ms, self.refused = {}, [], []
        self.accepted, self.last_reply_at = 0, None
        arrivals_before = dict(self.arrivals)
        stanzas_before, dups_before, errors_before = self.stanzas, self.duplicates, self.errors

        rss_before = rss_kib(args.server_pid)
        before = {"t": time.time(), "server": cpu_ticks(args.server_pid), "self": sum(os.times()[:2]),
                  "steal": steal_ticks(), "cores": core_ticks()}
        t0 = before["t"]
        for c in self.conns:
            self.start_next(c, t0)
        last_progress, seen = time.time(), 0
        while True:
            self.step(0.05)
            got = len(self.arrivals) - len(arrivals_before)
            now = time.time()
            busy = any(c.state != "idle" for c in self.conns)
            if not busy and got >= self.accepted:
                break
            if got + self.accepted != seen:
                seen, last_progress = got + self.accepted, now
            if now - last_progress > args.stall:
                log(f"run {run}: no progress for {args.stall} s, giving up")
                break
        at_done = {"t": time.time(), "server": cpu_ticks(args.server_pid), "self": sum(os.times()[:2]),
                   "steal": steal_ticks(), "cores": core_ticks()}
        # Anything late (duplicates) and parleyd's work after the last arrival.
        end = time.time() + 0.3
        while time.time() < end:
            self.step(0.05)
        wait_quiet(args.server_pid)
        server_after = cpu_ticks(args.server_pid)
        rss_after = rss_kib(args.server_pid)

        new = {mid: t for mid, t in self.arrivals.items() if mid not in arrivals_before}
        arrived = [mid for mid in new if mid in ids]
        foreign = len(new) - len(arrived)
        last_at = max((new[m] for m in arrived), default=None)
        seconds = (last_at - t0) if last_at else None
        window = at_done["t"] - t0
        e2e = [(new[m] - self.sent_at[m]) * 1000 for m in arrived if m in self.sent_at]
        delivered = len(arrived)

        def pct(a, b):
            return 100 * (b - a) * TICK_US / 1e6 / window if a is not None and b is not None and window > 0 else None

        return {
            "run": run, "mails": count, "bytes_avg": statistics.mean(sizes),
            "accepted": self.accepted, "refused": len(self.refused), "refused_first": self.refused[:3],
            "delivered": delivered, "lost": count - delivered,
            "duplicates": self.duplicates - dups_before, "foreign": foreign,
            "stanzas": self.stanzas - stanzas_before, "errors": self.errors - errors_before,
            "seconds": seconds, "mails_per_s": delivered / seconds if seconds else None,
            "lmtp_p50_ms": percentile(self.lmtp_ms, 50), "lmtp_p99_ms": percentile(self.lmtp_ms, 99),
            "lmtp_max_ms": max(self.lmtp_ms) if self.lmtp_ms else None,
            "e2e_p50_ms": percentile(e2e, 50), "e2e_p99_ms": percentile(e2e, 99),
            "server_cpu_us_per_mail": ((server_after - before["server"]) * TICK_US / delivered)
            if delivered and server_after is not None else None,
            "server_cpu_pct": pct(before["server"], at_done["server"]),
            "tool_cpu_pct": 100 * (at_done["self"] - before["self"]) / window if window > 0 else None,
            "core_busy_pct": {name: (100 * (at_done["cores"][cpu][0] - before["cores"][cpu][0])
                                     / max(1, at_done["cores"][cpu][1] - before["cores"][cpu][1]))
                              for name, cpu in (("server", f"cpu{args.server_cpu}"), ("tool", f"cpu{args.peer_cpu}"))
                              if cpu in before["cores"]},
            "steal_pct": (100 * (at_done["steal"][0] - before["steal"][0]) / (at_done["steal"][1] - before["steal"][1])
                          if at_done["steal"][1] > before["steal"][1] else None),
            "rss_before_kib": rss_before, "rss_after_kib": rss_after,
        }


def run(args):
    receiver = Client(args.c2s_port, args.user, args.password, "localhost")
    postfix = None
    if args.via == "postfix":
        # A private Postfix (tests/e2e/mailutil.py) that relays USER@address_domain to parleyd
        # over LMTP; the tool submits to its smtpd. Its processes inherit this one's core.
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
        import mailutil
        domain = args.recipient.rsplit("@", 1)[1]
        postfix = mailutil.PostfixInstance(lmtp_domains={domain: args.lmtp_port},
                                           extra_main=dict(kv.split("=", 1) for kv in args.postfix_main))
        postfix.start()
        conns = [Lmtp(postfix.port, b"EHLO") for _ in range(args.connections)]
    else:
        conns = [Lmtp(args.lmtp_port) for _ in range(args.connections)]
    if not conns[0].pipelining:
        log("the server does not offer PIPELINING: one command per round trip")
    try:
        return drive(args, receiver, conns, postfix)
    finally:
        if postfix is not None:
            errors = postfix.errors()
            if errors:
                log("Postfix logged errors: " + " | ".join(errors[:5]))
            postfix.stop()
            if os.environ.get("KEEP") != "1":
                shutil.rmtree(postfix.dir, ignore_errors=True)  # its queue, config and maillog
            else:
                log(f"kept the Postfix instance's directory {postfix.dir}")


def drive(args, receiver, conns, postfix):
    driver = Driver(args, receiver, conns)
    # Let the initial presence and anything else settle, and drop it.
    end = time.time() + 0.3
    while time.time() < end:
        driver.step(0.05)
    results = []
    for r in range(0, args.runs + 1):
        count = args.warmup if r == 0 else args.mails
        if count <= 0:
            continue
        what = "warm-up" if r == 0 else f"run {r}/{args.runs}"
        res = driver.measure(r, count)

        def num(v, d=0):
            return "-" if v is None else f"{v:,.{d}f}"
        log(f"{what}: {res['delivered']}/{count} arrived ({res['refused']} refused, {res['duplicates']} dup) in "
            f"{num(res['seconds'], 2)} s, {num(res['mails_per_s'])} mails/s, {'SMTP' if args.via == 'postfix' else 'LMTP'} p50 {num(res['lmtp_p50_ms'], 2)} "
            f"p99 {num(res['lmtp_p99_ms'], 2)} ms, {num(res['server_cpu_us_per_mail'])} CPU-µs/mail, "
            f"parleyd {num(res['server_cpu_pct'])} %, tool {num(res['tool_cpu_pct'])} %, RSS "
            f"{num(res['rss_before_kib'])} -> {num(res['rss_after_kib'])} KiB; cores busy "
            + ", ".join(f"{k} {v:.0f} %" for k, v in res["core_busy_pct"].items()))
        if res["refused_first"]:
            log(f"refused, first: {res['refused_first']}")
        if r > 0:
            results.append(res)
        else:
            warm = res
    out = {"via": args.via, "connections": args.connections, "mails": args.mails, "warmup": args.warmup,
           "senders": args.senders, "pipelining": conns[0].pipelining, "warmup_run": warm if args.warmup > 0 else None,
           "runs": results}
    with open(args.json, "w") as f:
        json.dump(out, f, indent=1)
    failed = [r for r in results if r["delivered"] != r["mails"] or r["duplicates"] or r["refused"]
              or r["foreign"] or r["errors"] or r["stanzas"] != r["mails"]]
    return 1 if failed else 0


# ---- report --------------------------------------------------------------------------------

def report(args):
    def num(v, d=0):
        return "–" if v is None else f"{v:,.{d}f}"

    rows, details = [], []
    for name, title, latency in (("lmtp", "LMTP → parleyd → XMPP", "LMTP"),
                                 ("postfix", "SMTP → Postfix → LMTP → parleyd → XMPP", "SMTP")):
        try:
            with open(os.path.join(args.json_dir, f"{name}.json")) as f:
                data = json.load(f)
        except (OSError, ValueError):
            continue
        runs = data["runs"]
        if not runs:
            continue
        lost = sum(r["lost"] for r in runs)
        dups = sum(r["duplicates"] for r in runs)
        refused = sum(r["refused"] for r in runs)
        rss = [r["rss_before_kib"] for r in runs[:1]] + [r["rss_after_kib"] for r in runs[-1:]]
        rows.append(
            f"| {title}, {data['connections']} connections | {data['mails']:,} | "
            f"{fmt([r['mails_per_s'] for r in runs])} | {fmt([r['lmtp_p50_ms'] for r in runs], 2)} | "
            f"{fmt([r['lmtp_p99_ms'] for r in runs], 2)} | {fmt([r['e2e_p50_ms'] for r in runs], 2)} | "
            f"{fmt([r['e2e_p99_ms'] for r in runs], 2)} | {fmt([r['server_cpu_us_per_mail'] for r in runs])} | "
            f"{fmt([r['server_cpu_pct'] for r in runs])} | {fmt([r['core_busy_pct'].get('server') for r in runs])} | "
            f"{fmt([r['tool_cpu_pct'] for r in runs])} | {fmt([r['core_busy_pct'].get('tool') for r in runs])} | "
            f"{' → '.join(num(v / 1024 if v else None, 1) for v in rss)} | {lost} / {dups} / {refused} |")
        details.append(
            f"\n{title}, each run ({latency} latency: final dot written to the reply read; "
            f"average mail {num(runs[0]['bytes_avg'])} bytes before dot-stuffing):\n\n"
            f"| run | arrived | s | mails/s | {latency} p50 / p99 / max ms | end-to-end p50 / p99 ms | "
            "parleyd CPU-µs/mail | parleyd CPU % | its core busy % | tool CPU % | tool's core busy % | "
            "RSS before → after KiB | steal % |\n"
            "|---|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---|---:|\n")
        each = ([("warm-up", data["warmup_run"])] if data.get("warmup_run") else []) + [(str(r["run"]), r) for r in runs]
        for label, r in each:
            details.append(
                f"| {label} | {r['delivered']:,} / {r['mails']:,} | {num(r['seconds'], 2)} | {num(r['mails_per_s'])} | "
                f"{num(r['lmtp_p50_ms'], 2)} / {num(r['lmtp_p99_ms'], 2)} / {num(r['lmtp_max_ms'], 1)} | "
                f"{num(r['e2e_p50_ms'], 2)} / {num(r['e2e_p99_ms'], 2)} | {num(r['server_cpu_us_per_mail'])} | "
                f"{num(r['server_cpu_pct'])} | {num(r['core_busy_pct'].get('server'))} | {num(r['tool_cpu_pct'])} | "
                f"{num(r['core_busy_pct'].get('tool'))} | {num(r['rss_before_kib'])} → {num(r['rss_after_kib'])} | "
                f"{num(r['steal_pct'], 1)} |\n")
    if not rows:
        print("no results", file=sys.stderr)
        return 1
    text = ("| path | mails per run | mails/s | p50 ms (LMTP, or SMTP) | p99 ms | end-to-end p50 ms | end-to-end p99 ms | "
            "parleyd CPU-µs/mail | parleyd CPU % | its core busy % | tool CPU % | tool's core busy % | "
            "parleyd RSS MiB, before → after | lost / dup / refused |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n"
            + "\n".join(rows) + "\n\nMedian of the runs, spread min–max in brackets.\n" + "".join(details))
    with open(args.markdown, "a") as f:
        f.write(text)
    print(text)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--lmtp-port", type=int, required=True)
    r.add_argument("--c2s-port", type=int, required=True)
    r.add_argument("--server-pid", type=int, required=True)
    r.add_argument("--user", default="alice", help="the XMPP user who receives (logs in over c2s)")
    r.add_argument("--password", required=True)
    r.add_argument("--recipient", default="alice@parley.test", help="RCPT TO and To:")
    r.add_argument("--sender-prefix", default="sender")
    r.add_argument("--sender-domain", default="example.org")
    r.add_argument("--senders", type=int, default=16, help="distinct From addresses, round-robin")
    r.add_argument("--connections", type=int, default=4)
    r.add_argument("--mails", type=int, default=5000)
    r.add_argument("--warmup", type=int, default=500)
    r.add_argument("--runs", type=int, default=3)
    r.add_argument("--stall", type=float, default=20, help="give up after this many seconds without progress")
    r.add_argument("--peer-cpu", default="0", help="this tool's core, for how busy it was")
    r.add_argument("--server-cpu", default="1", help="parleyd's core, for how busy it was")
    r.add_argument("--via", choices=["lmtp", "postfix"], default="lmtp",
                   help="lmtp: straight to parleyd's LMTP port; postfix: SMTP to a private Postfix "
                        "that delivers to it over LMTP (needs root)")
    r.add_argument("--postfix-main", action="append", default=[], metavar="PARAM=VALUE",
                   help="extra main.cf parameters of the private Postfix")
    r.add_argument("--json", required=True)
    m = sub.add_parser("report")
    m.add_argument("--json-dir", required=True)
    m.add_argument("--markdown", required=True)
    args = p.parse_args()
    sys.exit(run(args) if args.command == "run" else report(args))


if __name__ == "__main__":
    main()
