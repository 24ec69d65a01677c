#!/usr/bin/env python3
"""The measuring half of bench/run_sms.sh: messages per second through parleyd's SMS gateway
and parleyd's CPU time per message, with a real SMS peer on the other side.

    sms_bench.py run --provider kannel|smpp --direction out|in ... --json FILE
    sms_bench.py report --json-dir DIR --markdown FILE ...

`run` logs the XMPP users in over plaintext c2s (SCRAM), then does one warm-up run and RUNS
measured runs of one direction:

- out: the users send N chat messages, pre-serialised, to +1555700xxxx@DOMAIN, round-robin
  over the users and over DESTINATIONS numbers (the gateway runs at most
  concurrency_per_destination sends per number), all at once or at RATE msg/s. The SMS peer
  counts what reaches it: fakesmsc prints each message it gets ("Got message"), read from its
  stdout as it comes; the bench SMSC (smpp_smsc.js) counts submit_sm itself.
- in: the SMS peer injects N messages to the first user's number: fakesmsc generates them
  (-m N -i 0), the bench SMSC sends deliver_sm with a window. The user's XMPP connection counts
  the messages that arrive.

Throughput is messages that arrived / time from the first send to the last arrival. The
server's CPU time (utime + stime of /proc/PID/stat) is taken from the first send until parleyd
has gone quiet after the last arrival (so Kannel's delivery reports, which come afterwards,
are included), divided by the messages that arrived. This tool is single-threaded and needs
no CPU to send (one write per connection); its own CPU % and the peers' are recorded to show
who was the bottleneck.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import selectors
import socket
import statistics
import subprocess
import sys
import threading
import time

TICK_US = 1_000_000 / os.sysconf("SC_CLK_TCK")
HEADER = ("<?xml version='1.0'?><stream:stream to='{to}' xmlns='jabber:client' "
          "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")


def log(text):
    print(f"[sms_bench] {text}", file=sys.stderr, flush=True)


# ---- /proc ---------------------------------------------------------------------------------

def cpu_ticks(pid):
    """utime + stime of a process in clock ticks, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


def core_ticks():
    """cpuN -> (busy, total) clock ticks of each core (/proc/stat), whoever used it."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            fields = line.split()
            if fields[0].startswith("cpu") and fields[0] != "cpu":
                values = [int(x) for x in fields[1:9]]
                out[fields[0]] = (sum(values) - values[3] - values[4], sum(values))
    return out


def steal_ticks():
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:9]
    return int(fields[7]), sum(int(x) for x in fields)


class Probe:
    """CPU time of the server, of this process and of the peer processes over a window."""

    def __init__(self, server_pid, peers):
        self.server_pid = server_pid
        self.peers = dict(peers)  # name -> pid

    def sample(self):
        return {
            "t": time.time(),
            "server": cpu_ticks(self.server_pid),
            "self": sum(os.times()[:2]),
            "peers": {name: cpu_ticks(pid) for name, pid in self.peers.items()},
            "steal": steal_ticks(),
            "cores": core_ticks(),
        }

    @staticmethod
    def pct(a, b, seconds):
        if a is None or b is None or seconds <= 0:
            return None
        return 100 * (b - a) * TICK_US / 1e6 / seconds


# ---- XMPP ----------------------------------------------------------------------------------

class Client:
    """A raw c2s connection: SCRAM login and bind while blocking, then non-blocking I/O."""

    def __init__(self, port, user, password, domain):
        self.user, self.domain = user, domain
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        features = self.open()
        mechs = re.findall(r"<mechanism>([^<]+)</mechanism>", features)
        for mech, name in (("SCRAM-SHA-256", "sha256"), ("SCRAM-SHA-1", "sha1")):
            if mech in mechs:
                self.scram(mech, name, password)
                break
        else:
            raise RuntimeError(f"no SCRAM mechanism offered: {mechs}")
        self.open()
        self.send(f"<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                  f"<resource>bench</resource></bind></iq>")
        self.read_until(r"<iq[^>]*id='b1'.*?</iq>")
        self.send("<presence/>")
        self.sock.setblocking(False)
        self.out = bytearray()
        self.tail = b""
        self.bodies = 0  # "<body>bench " seen
        self.errors = 0  # type='error' seen
        self.last_body_at = None

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def read_until(self, pattern):
        rx = re.compile(pattern.encode(), re.S)
        deadline = time.time() + 30
        while True:
            m = rx.search(self.buf)
            if m:
                text = self.buf[:m.end()].decode()
                self.buf = self.buf[m.end():]
                return text
            if time.time() > deadline:
                raise RuntimeError(f"{self.user}: timed out waiting for {pattern!r}; got {self.buf[-500:]!r}")
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError(f"{self.user}: connection closed waiting for {pattern!r}")
            self.buf += chunk

    def open(self):
        self.send(HEADER.format(to=self.domain))
        return self.read_until(r"</stream:features>")

    def scram(self, mech, hash_name, password):
        nonce = base64.b64encode(os.urandom(18)).decode()
        first_bare = f"n={self.user},r={nonce}"
        self.send(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='{mech}'>"
                  + base64.b64encode(("n,," + first_bare).encode()).decode() + "</auth>")
        challenge = self.read_until(r"<challenge[^>]*>[^<]*</challenge>")
        server_first = base64.b64decode(re.search(r">([^<]*)<", challenge).group(1)).decode()
        attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
        salted = hashlib.pbkdf2_hmac(hash_name, password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", hash_name).digest()
        stored_key = hashlib.new(hash_name, client_key).digest()
        without_proof = f"c=biws,r={attrs['r']}"
        auth_message = f"{first_bare},{server_first},{without_proof}".encode()
        signature = hmac.new(stored_key, auth_message, hash_name).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        self.send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
                  + base64.b64encode(f"{without_proof},p={base64.b64encode(proof).decode()}".encode()).decode()
                  + "</response>")
        outcome = self.read_until(r"<success[^>]*/>|<success[^>]*>.*?</success>|<failure.*?</failure>")
        if not outcome.startswith("<success"):
            raise RuntimeError(f"{self.user}: login failed: {outcome}")

    def on_readable(self, now):
        try:
            chunk = self.sock.recv(262144)
        except BlockingIOError:
            return
        if not chunk:
            raise RuntimeError(f"{self.user}: the server closed the connection")
        # Count across chunk boundaries: the tail is shorter than any pattern, so nothing in
        # it was counted before.
        data = self.tail + chunk
        found = data.count(b"<body>bench ")
        if found:
            self.bodies += found
            self.last_body_at = now
        self.errors += data.count(b"type='error'") + data.count(b'type="error"')
        self.tail = data[-12:]

    def on_writable(self):
        if self.out:
            try:
                n = self.sock.send(self.out)
            except BlockingIOError:
                return
            del self.out[:n]


class Loop:
    def __init__(self, clients):
        self.clients = clients
        self.sel = selectors.DefaultSelector()
        for c in clients:
            self.sel.register(c.sock, selectors.EVENT_READ, c)
        self.writing = set()

    def queue(self, client, data):
        client.out += data
        if client not in self.writing:
            self.writing.add(client)
            self.sel.modify(client.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, client)

    def step(self, timeout):
        for key, events in self.sel.select(timeout):
            c = key.data
            if events & selectors.EVENT_READ:
                c.on_readable(time.time())
            if events & selectors.EVENT_WRITE:
                c.on_writable()
                if not c.out:
                    self.writing.discard(c)
                    self.sel.modify(c.sock, selectors.EVENT_READ, c)


# ---- SMS peers -----------------------------------------------------------------------------

class Counter:
    """Distinct texts seen by the SMS peer, with the time of the first and the last."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.texts = set()
            self.total = 0
            self.first_at = self.last_at = None

    def add(self, text, at):
        with self.lock:
            self.total += 1
            if text not in self.texts:
                self.texts.add(text)
                self.last_at = at
                if self.first_at is None:
                    self.first_at = at

    def snapshot(self):
        with self.lock:
            return len(self.texts), self.total - len(self.texts), self.first_at, self.last_at


class KannelPeer:
    """fakesmsc as the SMSC behind bearerbox: one that prints what it gets (out), or one that
    generates N messages as fast as it can (in), one at a time on bearerbox's fake port."""

    def __init__(self, args):
        self.args = args
        self.proc = None
        self.counter = Counter()

    def _log_count(self, needle):
        with open(self.args.bearerbox_log, errors="replace") as f:
            return f.read().count(needle)

    def _wait_connected(self, before):
        deadline = time.time() + 15
        while time.time() < deadline:
            if self._log_count("Fakesmsc client connected") > before:
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.02)
        raise RuntimeError("bearerbox did not see fakesmsc connect")

    def _spawn(self, extra, stdout):
        """Starts fakesmsc; returns the time it was started, once bearerbox has seen it."""
        for _ in range(10):
            before = self._log_count("Fakesmsc client connected")
            argv = ["taskset", "-c", str(self.args.peer_cpu), "stdbuf", "-oL", self.args.fakesmsc,
                    "-H", "127.0.0.1", "-r", str(self.args.smsc_port)] + extra
            started = time.time()
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=stdout, stderr=subprocess.STDOUT)
            if self._wait_connected(before):
                return started
            time.sleep(0.5)  # bearerbox was not listening yet
        raise RuntimeError("fakesmsc could not connect to bearerbox")

    def start_receiver(self):
        self._spawn([], subprocess.PIPE)
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()

    def _read(self, stream):
        rx = re.compile(rb"Got message \d+: <\S+ \S+ \S+ (.*)>")
        for line in stream:
            m = rx.search(line)
            if m:
                self.counter.add(m.group(1), time.time())

    def inject(self, run, count):
        """A generator of `count` messages, sent as fast as bearerbox takes them from the moment
        it connects; returns the time it was started."""
        msg = f"+{self.args.far_number} +{self.args.owner_number} text bench {run}"
        return self._spawn(["-i", "0", "-m", str(count), "-z", "4", msg], subprocess.DEVNULL)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            before = self._log_count("EOF from fakesmsc client")
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            # bearerbox notices the end before it takes the next fake client.
            deadline = time.time() + 10
            while time.time() < deadline and self._log_count("EOF from fakesmsc client") <= before:
                time.sleep(0.05)
        self.proc = None

    def pids(self):
        out = {"bearerbox": self.args.bearerbox_pid, "smsbox": self.args.smsbox_pid}
        if self.proc is not None:
            out["fakesmsc"] = self.proc.pid
        return out


class SmppPeer:
    """The bench SMSC (smpp_smsc.js): commands through its stdin FIFO, events from the file
    its stdout goes to."""

    def __init__(self, args):
        self.args = args
        self.commands = open(args.smsc_in, "w", buffering=1)
        self.events_file = open(args.smsc_out, "rb")
        self.events = []
        self.cond = threading.Condition()
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        pending = b""
        while True:
            chunk = self.events_file.read()
            if not chunk:
                time.sleep(0.005)
                continue
            pending += chunk
            *lines, pending = pending.split(b"\n")
            with self.cond:
                for line in lines:
                    try:
                        self.events.append(json.loads(line))
                    except ValueError:
                        pass
                self.cond.notify_all()

    def wait(self, predicate, timeout):
        deadline = time.time() + timeout
        with self.cond:
            while True:
                for e in self.events:
                    if predicate(e):
                        return e
                left = deadline - time.time()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def cmd(self, cmd, **fields):
        self.next_id += 1
        fields.update(cmd=cmd, id=self.next_id)
        self.commands.write(json.dumps(fields) + "\n")
        ident = self.next_id
        if self.wait(lambda e: e.get("event") == "done" and e.get("id") == ident, 10) is None:
            raise RuntimeError(f"the SMSC did not carry out {cmd}")
        return ident

    def poll_stats(self):
        """Asks for the counters without waiting; last_stats() has the newest answer."""
        self.next_id += 1
        self.commands.write(json.dumps({"cmd": "stats", "id": self.next_id}) + "\n")

    def last_stats(self):
        with self.cond:
            for e in reversed(self.events):
                if e.get("event") == "stats":
                    return e
        return {}

    def clear(self):
        with self.cond:
            self.events.clear()

    def pids(self):
        return {"node smsc": self.args.smsc_pid}


# ---- runs ----------------------------------------------------------------------------------

def wait_quiet(pid, timeout=15.0):
    """Until parleyd's CPU time stops moving (three samples 100 ms apart alike)."""
    deadline = time.time() + timeout
    last, same = cpu_ticks(pid), 0
    while time.time() < deadline and same < 3:
        time.sleep(0.1)
        now = cpu_ticks(pid)
        same = same + 1 if now == last else 0
        last = now


def measure(args, loop, clients, peer, run, count, probe_peers):
    """One run; returns its figures."""
    probe = Probe(args.server_pid, probe_peers())
    stall = args.stall
    result = {"run": run, "messages": count}
    if args.direction == "out":
        destinations = [f"+{args.far_prefix}{j:04d}@{args.domain}" for j in range(args.destinations)]
        batches = [bytearray() for _ in clients]
        order = []
        for k in range(count):
            stanza = (f"<message to='{destinations[k % len(destinations)]}' type='chat' id='b{run}-{k}'>"
                      f"<body>bench {run} {k}</body></message>").encode()
            order.append((k % len(clients), stanza))
        if args.provider == "kannel":
            peer.counter.reset()
        else:
            peer.cmd("expect", count=count)
        errors_before = sum(c.errors for c in clients)
        before = probe.sample()
        t0 = before["t"]
        if args.rate <= 0:
            for i, stanza in order:
                batches[i] += stanza
            for c, data in zip(clients, batches):
                loop.queue(c, bytes(data))
        sent = 0 if args.rate > 0 else count
        last_progress, seen, last_poll = time.time(), 0, time.time()
        reached_at = None
        while True:
            now = time.time()
            if sent < count:
                due = min(count, int((now - t0) * args.rate) + 1)
                for i, stanza in order[sent:due]:
                    loop.queue(clients[i], stanza)
                sent = due
            loop.step(0.001 if sent < count else 0.01)
            if args.provider == "kannel":
                distinct, dup, first_at, last_at = peer.counter.snapshot()
            else:
                ev = peer.wait(lambda e: e.get("event") == "reached", 0)
                if ev is not None:
                    distinct, dup, last_at = ev["distinct"], ev["duplicates"], ev["last_at"]
                else:
                    if now - last_poll > 0.5:
                        peer.poll_stats()
                        last_poll = now
                    distinct, dup, last_at = peer.last_stats().get("distinct", 0), 0, None
            if distinct >= count:
                reached_at = time.time()
                break
            if distinct != seen:
                seen, last_progress = distinct, now
            if now - last_progress > stall:
                break
        at_done = probe.sample()
        if args.provider == "smpp":
            if reached_at is None:
                ident = peer.cmd("stats")
                ev = peer.wait(lambda e: e.get("event") == "stats" and e.get("id") == ident, 10)
                distinct, dup, last_at = ev["distinct"], ev["duplicates"], ev["last_at"]
            peer.clear()
        result.update(delivered=distinct, duplicates=dup, refused=sum(c.errors for c in clients) - errors_before)
    else:
        receiver = clients[0]
        bodies_before = receiver.bodies
        before = probe.sample()
        t0 = before["t"]
        if args.provider == "kannel":
            # CPU from before the start; time from the start of the generator that connected.
            t0 = peer.inject(run, count)
            probe.peers["fakesmsc"] = peer.proc.pid
            before["peers"]["fakesmsc"] = 0  # a new process
        else:
            peer.cmd("inject", count=count, run=run, source=args.far_number, destination=args.owner_number)
        last_progress, seen = time.time(), 0
        while True:
            loop.step(0.01)
            got = receiver.bodies - bodies_before
            now = time.time()
            if got >= count:
                break
            if got != seen:
                seen, last_progress = got, now
            if now - last_progress > stall:
                break
        at_done = probe.sample()
        last_at = receiver.last_body_at
        result.update(delivered=receiver.bodies - bodies_before, duplicates=0, refused=0)
        if args.provider == "smpp":
            ev = peer.wait(lambda e: e.get("event") == "injected", 10)
            result.update(acked=ev and ev["acked"], failed=ev and ev["failed"])
            peer.clear()
    # The server's work after the last arrival (Kannel's delivery reports, acknowledgements)
    # belongs to these messages too.
    for _ in range(1000):
        if not loop.sel.select(0):
            break
        loop.step(0)
    wait_quiet(args.server_pid)
    after = probe.sample()
    if args.provider == "kannel" and args.direction == "in":
        peer.stop()
    delivered = result["delivered"] or 0
    seconds = (last_at - t0) if last_at else None
    window = at_done["t"] - t0
    result.update(
        seconds=seconds,
        msgs_per_s=(delivered / seconds) if seconds else None,
        server_cpu_us_per_msg=((after["server"] - before["server"]) * TICK_US / delivered) if delivered else None,
        server_cpu_pct=Probe.pct(before["server"], at_done["server"], window),
        tool_cpu_pct=100 * (at_done["self"] - before["self"]) / window if window > 0 else None,
        peers_cpu_pct={name: Probe.pct(before["peers"].get(name), at_done["peers"].get(name), window)
                       for name in before["peers"]},
        core_busy_pct={name: (100 * (at_done["cores"][cpu][0] - before["cores"][cpu][0])
                              / max(1, at_done["cores"][cpu][1] - before["cores"][cpu][1]))
                       for name, cpu in (("server", f"cpu{args.server_cpu}"), ("peers", f"cpu{args.peer_cpu}"))
                       if cpu in before["cores"]},
        steal_pct=(100 * (at_done["steal"][0] - before["steal"][0]) / (at_done["steal"][1] - before["steal"][1])
                   if at_done["steal"][1] > before["steal"][1] else None),
    )
    return result


def run(args):
    users = [f"{args.user_prefix}{i}" for i in range(args.users)]
    clients = [Client(args.c2s_port, u, args.password, "localhost") for u in users]
    loop = Loop(clients)
    if args.provider == "kannel":
        peer = KannelPeer(args)
        if args.direction == "out":
            peer.start_receiver()
    else:
        peer = SmppPeer(args)
        if peer.wait(lambda e: e.get("event") == "bind" and e.get("status") == 0, 30) is None:
            raise RuntimeError("parleyd did not bind to the SMSC")
        peer.clear()
    results = []
    try:
        for r in range(0, args.runs + 1):
            count = args.warmup if r == 0 else args.messages
            if count <= 0:
                continue
            what = "warm-up" if r == 0 else f"run {r}/{args.runs}"
            res = measure(args, loop, clients, peer, r, count, peer.pids)
            rate = f"{res['msgs_per_s']:,.0f} msg/s" if res["msgs_per_s"] else "-"
            cpu = f"{res['server_cpu_us_per_msg']:,.0f}" if res["server_cpu_us_per_msg"] else "-"
            log(f"{args.provider} {args.direction} {what}: {res['delivered']}/{count} in "
                f"{res['seconds'] or 0:.2f} s, {rate}, {cpu} CPU-µs/msg, parleyd {res['server_cpu_pct'] or 0:.0f} %, "
                f"tool {res['tool_cpu_pct'] or 0:.0f} %, peers "
                + ", ".join(f"{k} {v:.0f} %" for k, v in res["peers_cpu_pct"].items() if v is not None)
                + "; cores busy " + ", ".join(f"{k} {v:.0f} %" for k, v in res["core_busy_pct"].items()))
            if r > 0:
                results.append(res)
    finally:
        if args.provider == "kannel":
            peer.stop()
    out = {"provider": args.provider, "direction": args.direction, "messages": args.messages,
           "rate": args.rate, "users": args.users, "destinations": args.destinations, "runs": results}
    with open(args.json, "w") as f:
        json.dump(out, f, indent=1)
    failed = [r for r in results if r["delivered"] != r["messages"] or r["duplicates"] or r["refused"]]
    return 1 if failed else 0


# ---- report --------------------------------------------------------------------------------

def fmt(values, digits=0):
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    f = f"{{:,.{digits}f}}"
    return f"{f.format(statistics.median(values))} ({f.format(min(values))}–{f.format(max(values))})"


def report(args):
    rows, details = [], []
    names = {("kannel", "out"): "Kannel, outbound (XMPP → sendsms → fakesmsc)",
             ("kannel", "in"): "Kannel, inbound (fakesmsc → smsbox get-url → XMPP)",
             ("smpp", "out"): "SMPP, outbound (XMPP → submit_sm)",
             ("smpp", "in"): "SMPP, inbound (deliver_sm → XMPP)"}
    for (provider, direction), title in names.items():
        path = os.path.join(args.json_dir, f"{provider}-{direction}.json")
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError):
            continue
        runs = data["runs"]
        checks = sum(r["messages"] - (r["delivered"] or 0) for r in runs)
        dups = sum(r["duplicates"] or 0 for r in runs)
        refused = sum(r["refused"] or 0 for r in runs)
        peers = sorted({k for r in runs for k in r["peers_cpu_pct"]})
        peer_text = ", ".join(f"{k} {fmt([r['peers_cpu_pct'].get(k) for r in runs])}" for k in peers)
        rows.append(f"| {title} | {data['messages']:,} | {fmt([r['msgs_per_s'] for r in runs])} | "
                    f"{fmt([r['server_cpu_us_per_msg'] for r in runs])} | {fmt([r['server_cpu_pct'] for r in runs])} | "
                    f"{fmt([r['core_busy_pct'].get('server') for r in runs])} | "
                    f"{fmt([r['tool_cpu_pct'] for r in runs])} | {peer_text} | "
                    f"{fmt([r['core_busy_pct'].get('peers') for r in runs])} | {checks} / {dups} / {refused} |")
        details.append(f"\n{title}, each run:\n\n| run | delivered | s | msg/s | parleyd CPU-µs/msg | parleyd CPU % | "
                       "its core busy % | tool CPU % | peers CPU % | their core busy % | steal % |\n"
                       "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|\n")
        for r in runs:
            def num(v, d=0):
                return "–" if v is None else f"{v:,.{d}f}"
            details.append(f"| {r['run']} | {r['delivered']:,} / {r['messages']:,} | {num(r['seconds'], 2)} | "
                           f"{num(r['msgs_per_s'])} | {num(r['server_cpu_us_per_msg'])} | {num(r['server_cpu_pct'])} | "
                           f"{num(r['core_busy_pct'].get('server'))} | {num(r['tool_cpu_pct'])} | "
                           + ", ".join(f"{k} {num(v)}" for k, v in r["peers_cpu_pct"].items())
                           + f" | {num(r['core_busy_pct'].get('peers'))} | {num(r['steal_pct'], 1)} |\n")
    text = ("| direction | messages per run | msg/s | parleyd CPU-µs/msg | parleyd CPU % | its core busy % | "
            "tool CPU % | peers CPU % | their core busy % | lost / dup / refused |\n"
            "|---|---:|---:|---:|---:|---:|---:|---|---:|---|\n"
            + "\n".join(rows) + "\n\nMedian of the runs, spread min–max in brackets.\n" + "".join(details))
    with open(args.markdown, "a") as f:
        f.write(text)
    print(text)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--provider", choices=["kannel", "smpp"], required=True)
    r.add_argument("--direction", choices=["out", "in"], required=True)
    r.add_argument("--c2s-port", type=int, required=True)
    r.add_argument("--server-pid", type=int, required=True)
    r.add_argument("--password", required=True)
    r.add_argument("--users", type=int, default=4, help="sending users <prefix>0.. (the first also receives)")
    r.add_argument("--user-prefix", default="sms")
    r.add_argument("--domain", default="sms.localhost", help="the SMS gateway's domain")
    r.add_argument("--owner-number", default="15550100000", help="the first user's number, without +")
    r.add_argument("--far-number", default="15557654321", help="the sender of inbound SMS, without +")
    r.add_argument("--far-prefix", default="1555700", help="outbound numbers: +<prefix>0000 ..")
    r.add_argument("--destinations", type=int, default=100)
    r.add_argument("--messages", type=int, default=5000)
    r.add_argument("--warmup", type=int, default=200)
    r.add_argument("--runs", type=int, default=3)
    r.add_argument("--rate", type=float, default=0, help="offered msg/s outbound; 0: all at once")
    r.add_argument("--stall", type=float, default=20, help="give up after this many seconds without progress")
    r.add_argument("--peer-cpu", default="0")
    r.add_argument("--server-cpu", default="1", help="parleyd's core, for how busy it was")
    r.add_argument("--json", required=True)
    # kannel
    r.add_argument("--fakesmsc")
    r.add_argument("--smsc-port", type=int)
    r.add_argument("--bearerbox-log")
    r.add_argument("--bearerbox-pid", type=int)
    r.add_argument("--smsbox-pid", type=int)
    # smpp
    r.add_argument("--smsc-in", help="FIFO to the bench SMSC's stdin")
    r.add_argument("--smsc-out", help="file the bench SMSC's stdout goes to")
    r.add_argument("--smsc-pid", type=int)
    m = sub.add_parser("report")
    m.add_argument("--json-dir", required=True)
    m.add_argument("--markdown", required=True)
    args = p.parse_args()
    sys.exit(run(args) if args.command == "run" else report(args))


if __name__ == "__main__":
    main()
