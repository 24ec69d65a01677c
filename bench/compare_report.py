"""Summarises the runs of bench/run_compare.sh as markdown on stdout: a headline table with
each server's figures (median and min–max of the runs) and Parley's advantage over each peer,
then one table per scenario. Reads the JSON that parley-loadgen and parley-hookbench wrote.

usage: compare_report.py JSON_DIR RUNS "SERVERS" "SCENARIOS" RATES TLS_RATES HTTP_RATE
"""

import json
import os
import statistics
import sys

json_dir, runs = sys.argv[1], int(sys.argv[2])
servers, scenarios = sys.argv[3].split(), sys.argv[4].split()
rates = [float(r) for r in sys.argv[5].split(",") if r]
tls_rates = [float(r) for r in sys.argv[6].split(",") if r]
http_rate = sys.argv[7]
NAMES = {"parley": "Parley", "prosody": "Prosody", "ejabberd": "ejabberd"}
peers = [s for s in servers if s != "parley"]


def load(server, name):
    try:
        with open(os.path.join(json_dir, server, name + ".json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def exit_code(server, name):
    try:
        with open(os.path.join(json_dir, server, name + ".rc")) as f:
            return int(f.read().strip() or "0")
    except (OSError, ValueError):
        return None


def runs_of(server, name):
    return [load(server, f"{name}-{i}") for i in range(1, runs + 1)]


def stat(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def fmt(s, digits=0, scale=1.0):
    if s is None:
        return "–"
    med, lo, hi = (v * scale for v in s)
    f = f"{{:,.{digits}f}}"
    if len({f.format(med), f.format(lo), f.format(hi)}) == 1 or runs == 1:
        return f.format(med)
    return f"{f.format(med)} ({f.format(lo)}–{f.format(hi)})"


def advantage(parley, peer, higher_is_better):
    """How many times better Parley's median is than the peer's: >1 means Parley is better."""
    if parley is None or peer is None or parley[0] <= 0 or peer[0] <= 0:
        return "–"
    ratio = parley[0] / peer[0] if higher_is_better else peer[0] / parley[0]
    return f"×{ratio:.2f}" if ratio < 10 else f"×{ratio:.1f}"


headline = []  # (figure, better, {server: stat}, digits, scale)


def add(figure, higher_is_better, values, digits=0, scale=1.0):
    headline.append((figure, higher_is_better, values, digits, scale))


def lat(s, key):
    """A latency percentile of a step, None when no message sent in its window arrived."""
    return s["latency"][key] if s["latency"]["count"] > 0 else None


def step_of(r, rate):
    if r is None:
        return None
    return next((s for s in r.get("steps", []) if abs(s["offered_per_s"] - rate) < 0.5), None)


def failures(server, name):
    bad = [str(i) for i in range(1, runs + 1) if exit_code(server, f"{name}-{i}") not in (0, None)]
    missing = [str(i) for i in range(1, runs + 1) if load(server, f"{name}-{i}") is None]
    notes = []
    if bad:
        notes.append(f"runs {','.join(bad)} exit ≠ 0")
    if missing:
        notes.append(f"runs {','.join(missing)} without results")
    return "; ".join(notes)


sections = []

# ---- login -----------------------------------------------------------------------------------
if "login" in scenarios:
    rows = ["| variant | server | mechanism | logins/s | p50 ms | p99 ms | server CPU-µs/login | server CPU % | loadgen CPU % | steal % | failed logins | notes |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name, title in [("login-plain", "plaintext, SCRAM"), ("login-tls", "STARTTLS, SCRAM"),
                        ("login-tls-plain", "STARTTLS, PLAIN")]:
        rate, cpu = {}, {}
        for server in servers:
            results = runs_of(server, name)
            totals = [r["login_total"] for r in results if r and r.get("login_total")]
            if not totals:
                continue
            mech = sorted({r["settings"]["mechanism"] for r in results if r})
            rate[server] = stat([t["logins_per_s"] for t in totals])
            cpu[server] = stat([t["server_cpu_us_per_login"] for t in totals])
            rows.append(f"| {title} | {NAMES[server]} | {', '.join(mech)} | {fmt(rate[server])} | "
                        f"{fmt(stat([t['latency']['p50_ms'] for t in totals]), 1)} | "
                        f"{fmt(stat([t['latency']['p99_ms'] for t in totals]), 1)} | {fmt(cpu[server])} | "
                        f"{fmt(stat([t['server_cpu_pct'] for t in totals]))} | "
                        f"{fmt(stat([t['client_cpu_pct'] for t in totals]))} | "
                        f"{fmt(stat([t['steal_pct'] for t in totals]), 1)} | "
                        f"{sum(t['failed'] for t in totals)} | {failures(server, name)} |")
        add(f"login/s, {title}", True, rate)
        add(f"server CPU-µs per login, {title}", False, cpu)
    sections.append("### Login\n\nEach run: one warm-up round, then the measured rounds summed; a login is "
                    "connect, STARTTLS when asked, SASL, bind, roster get and initial presence (echo "
                    "received). SCRAM means the strongest SCRAM the server offers.\n\n" + "\n".join(rows))

# ---- messages --------------------------------------------------------------------------------
if "messages" in scenarios:
    for name, title, steps in [("messages-plain", "plaintext", rates), ("messages-tls", "STARTTLS", tls_rates)]:
        if not steps:
            continue
        rows = ["| offered msg/s | server | sent/s | delivered/s | p50 ms | p99 ms | p99.9 ms | max ms | server CPU-µs/msg | server CPU % | loadgen CPU % | steal % | lost / dup / misrouted | notes |",
                "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
        best = {}
        for rate in steps:
            delivered, p99, cpu = {}, {}, {}
            for server in servers:
                results = runs_of(server, name)
                found = [step_of(r, rate) for r in results]
                found = [s for s in found if s is not None]
                if not found:
                    continue
                delivered[server] = stat([s["delivered_per_s"] for s in found])
                p99[server] = stat([lat(s, "p99_ms") for s in found])
                cpu[server] = stat([s["server_cpu_us_per_msg"] for s in found])
                # Saturation: the best median delivered/s over the steps.
                if server not in best or delivered[server][0] > best[server][0]:
                    best[server] = delivered[server]
                lost = sum(s["lost"] for s in found)
                dup = sum(s["duplicates"] for s in found)
                mis = sum(s["misrouted"] for s in found)
                notes = []
                if any(s["client_backlog_bytes"] > 0 for s in found):
                    notes.append("backlog in the generator: saturated")
                if failures(server, name):
                    notes.append(failures(server, name))
                rows.append(f"| {rate:,.0f} | {NAMES[server]} | {fmt(stat([s['sent_per_s'] for s in found]))} | "
                            f"{fmt(delivered[server])} | {fmt(stat([lat(s, 'p50_ms') for s in found]), 2)} | "
                            f"{fmt(p99[server], 2)} | {fmt(stat([lat(s, 'p99_9_ms') for s in found]), 2)} | "
                            f"{fmt(stat([lat(s, 'max_ms') for s in found]), 1)} | {fmt(cpu[server])} | "
                            f"{fmt(stat([s['server_cpu_pct'] for s in found]))} | "
                            f"{fmt(stat([s['client_cpu_pct'] for s in found]))} | "
                            f"{fmt(stat([s['steal_pct'] for s in found]), 1)} | {lost} / {dup} / {mis} | "
                            f"{'; '.join(notes)} |")
            add(f"{title} messages at {rate:,.0f}/s offered: delivered msg/s", True, delivered)
            add(f"{title} messages at {rate:,.0f}/s offered: p99 ms", False, p99, 2)
            add(f"{title} messages at {rate:,.0f}/s offered: server CPU-µs per message", False, cpu)
        add(f"{title} messages: best delivered msg/s over the steps (top step {steps[-1]:,.0f}/s)", True, best)
        sections.append(f"### 1:1 messages, {title}\n\nEach run logs the pairs in, then steps "
                        "through the offered rates (warm-up, measured window, drain). Latency is send to "
                        "receipt of the messages sent in the window; lost counts those not received by the "
                        "end of the drain (expected past saturation).\n\n" + "\n".join(rows))

# ---- idle ------------------------------------------------------------------------------------
if "idle" in scenarios:
    rows = ["| variant | server | connections | RSS before MiB | RSS after hold MiB | KiB per connection | server CPU % while idle | dropped | notes |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for name, title in [("idle-plain", "plaintext"), ("idle-tls", "STARTTLS")]:
        per = {}
        for server in servers:
            idles = [r["idle"] for r in runs_of(server, name) if r and r.get("idle")]
            if not idles:
                continue
            per[server] = stat([i["server_rss_bytes_per_connection"] for i in idles])
            rows.append(f"| {title} | {NAMES[server]} | {idles[0]['connections']:,} | "
                        f"{fmt(stat([i['server_rss_before_kib'] for i in idles]), 1, 1 / 1024)} | "
                        f"{fmt(stat([i['server_rss_end_kib'] for i in idles]), 1, 1 / 1024)} | "
                        f"{fmt(per[server], 1, 1 / 1024)} | {fmt(stat([i['server_cpu_pct_idle'] for i in idles]), 1)} | "
                        f"{sum(i['dropped'] for i in idles)} | {failures(server, name)} |")
        add(f"KiB RSS per idle connection, {title}", False, per, 1, 1 / 1024)
    sections.append("### Idle memory\n\nEach run on a freshly started server: a warm-up of 100 logins, closed again; "
                    "then RSS before the logins, and after holding the authenticated connections (bound, "
                    "roster fetched, presence sent).\n\n"
                    + "\n".join(rows))

# ---- inbound HTTP to message -----------------------------------------------------------------
if "http" in scenarios:
    rows = ["| load | server | request | delivered msg/s | accepted/s | p50 ms | p99 ms | server CPU-µs/msg | server CPU % | lost / dup / refused | notes |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---|---|"]
    variants = [("http-closed", "closed loop")]
    if http_rate:
        variants.append(("http-rate", f"{float(http_rate):,.0f} msg/s"))
    for name, load_label in variants:
        delivered, cpu, p99 = {}, {}, {}
        for server in [s for s in servers if s != "prosody"]:
            phases = []
            for r in runs_of(server, name):
                if r:
                    p = next((p for p in r["phases"] if p["measured"]), None)
                    if p:
                        phases.append(p)
            if not phases:
                continue
            delivered[server] = stat([p["delivered_per_s"] for p in phases])
            cpu[server] = stat([p["server_cpu_us_per_msg"] for p in phases])
            p99[server] = stat([p["delivery_latency"]["p99_ms"] for p in phases])
            refused = sum(sum(p["refused"].values()) + p["unexpected"] + p["malformed"] for p in phases)
            request = "`POST /hooks/bench`" if server == "parley" else "`POST /api/send_message`"
            rows.append(f"| {load_label} | {NAMES[server]} | {request} | {fmt(delivered[server])} | "
                        f"{fmt(stat([p['accepted_per_s'] for p in phases]))} | "
                        f"{fmt(stat([p['delivery_latency']['p50_ms'] for p in phases]), 2)} | {fmt(p99[server], 2)} | "
                        f"{fmt(cpu[server])} | {fmt(stat([p['server_cpu_pct'] for p in phases]))} | "
                        f"{sum(p['missing'] for p in phases)} / {sum(p['duplicates'] for p in phases)} / {refused} | "
                        f"{failures(server, name)} |")
        add(f"HTTP → message, {load_label}: delivered msg/s", True, delivered)
        add(f"HTTP → message, {load_label}: server CPU-µs per message", False, cpu)
        if name == "http-rate":
            add(f"HTTP → message, {load_label}: p99 ms", False, p99, 2)
    sections.append("### Inbound HTTP to message\n\nPOSTs over keep-alive HTTP/1.1 connections until the "
                    "message reaches a user logged in over c2s (parley-hookbench). Parleyd answers 202 after "
                    "delivery; ejabberd's send_message answers 200 once routed. Prosody has no counterpart.\n\n"
                    + "\n".join(rows))

# ---- offline store and drain -------------------------------------------------------------------
if "offline" in scenarios:
    rows = ["| phase | server | messages | msg/s | s | p50 / max ms per connection | server CPU-µs/msg | server CPU % | server core busy % | loadgen CPU % | steal % | refused / lost / dup / misrouted | notes |",
            "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---|"]
    figures = {"store": ({}, {}), "drain": ({}, {})}
    sizes = set()
    for phase, title in [("store", "store"), ("drain", "drain")]:
        rate, cpu = figures[phase]
        for server in servers:
            results = [r for r in runs_of(server, "offline") if r and r.get("offline")]
            if not results:
                continue
            offs = [r["offline"] for r in results]
            sizes.update((r["settings"]["senders"], r["settings"]["messages_per_sender"], r["settings"]["recipients"])
                         for r in results)
            ph = [o[phase] for o in offs]
            rate[server] = stat([p["msg_per_s"] for p in ph])
            cpu[server] = stat([p["server_cpu_us_per_msg"] for p in ph])
            count = stat([o["stored" if phase == "store" else "received"] for o in offs])
            notes = []
            if sum(o["stale"] for o in offs):
                notes.append(f"{sum(o['stale'] for o in offs)} left over from earlier runs")
            if sum(o["ping_errors"] for o in offs):
                notes.append("ping answered with an error")
            if sum(o["proofs_missing"] for o in offs):
                notes.append(f"{sum(o['proofs_missing'] for o in offs)} senders without proof")
            if failures(server, "offline"):
                notes.append(failures(server, "offline"))
            rows.append(f"| {title} | {NAMES[server]} | {fmt(count)} | {fmt(rate[server])} | "
                        f"{fmt(stat([p['seconds'] for p in ph]), 2)} | "
                        f"{fmt(stat([p['done']['p50_ms'] for p in ph]))} / {fmt(stat([p['done']['max_ms'] for p in ph]))} | "
                        f"{fmt(cpu[server])} | {fmt(stat([p['server_cpu_pct'] for p in ph]))} | "
                        f"{fmt(stat([p.get('server_cores_busy_pct') for p in ph]))} | "
                        f"{fmt(stat([p['client_cpu_pct'] for p in ph]))} | {fmt(stat([p['steal_pct'] for p in ph]), 1)} | "
                        f"{sum(o['refused'] for o in offs)} / {sum(o['lost'] for o in offs)} / "
                        f"{sum(o['duplicates'] for o in offs)} / {sum(o['misrouted'] for o in offs)} | {'; '.join(notes)} |")
    add("offline store: msg/s taken (proof: ping answered)", True, figures["store"][0])
    add("offline store: server CPU-µs per message", False, figures["store"][1])
    add("offline drain: msg/s from first login to last message", True, figures["drain"][0])
    add("offline drain: server CPU-µs per message (logins included)", False, figures["drain"][1])
    size = ", ".join(f"{s} senders × {m} messages to {r} recipients" for s, m, r in sorted(sizes))
    sections.append(f"### Offline: store and drain\n\n{size}. Store: every sender logs in, then sends its "
                    "messages at once to recipients who are offline, followed by an XEP-0199 ping; the server "
                    "handles a stream's stanzas in order, so the answer proves the burst was stored. The store "
                    "runs from the first message sent to the last sender's answer. Drain: the recipients log in "
                    "(bind, roster, initial presence, on which the servers send what they hold), timed from the "
                    "first connect to the last message received; its CPU includes the recipients' logins. Every "
                    "message carries a sequence number and must arrive once, at the recipient it was sent to. "
                    "p50 / max: per sender until its ping was answered; per recipient until its last "
                    "message. Server core busy %: the server's core used by anyone; near 100 while the server's "
                    "own CPU % is lower means other work on the machine took the rest (the rates then say less "
                    "than the CPU per message).\n\n" + "\n".join(rows))

# ---- output ----------------------------------------------------------------------------------
out = []
try:
    segments = [line.split() for line in open(os.path.join(json_dir, "segments.txt")) if line.strip()]
except OSError:
    segments = []
if segments:
    out.append("- per server: " + "; ".join(
        f"{NAMES.get(s[0], s[0])} {s[2]} s, steal {s[1]} %, users created in {s[3]} s" for s in segments))
out.append("")
out.append("## Headline\n")
out.append("Median of the runs (min–max). **Parley vs X**: how many times better Parley's median is "
           "(rate ÷ rate, or cost ÷ cost the other way round): above ×1 Parley is better, below it is worse.\n")
cols = [NAMES[s] for s in servers] + [f"Parley vs {NAMES[p]}" for p in peers if "parley" in servers]
out.append("| figure | " + " | ".join(cols) + " |")
out.append("|---|" + "---:|" * len(cols))
for figure, higher, values, digits, scale in headline:
    if not values:
        continue
    cells = [fmt(values.get(s), digits, scale) for s in servers]
    if "parley" in servers:
        cells += [advantage(values.get("parley"), values.get(p), higher) for p in peers]
    out.append(f"| {figure} | " + " | ".join(cells) + " |")
out.append("")
out.append("## Details\n")
out.extend(s + "\n" for s in sections)
out.append("""Notes:
- CPU figures are utime+stime of the server process from /proc/PID/stat (for ejabberd the
  beam.smp process) over the measured phase, per operation. On a VM with hypervisor steal
  they move least from run to run; compare servers on them at the same offered load.
- steal % is machine-wide (/proc/stat). loadgen CPU % near 100 would mean the generator, not
  the server, was the limit.
- The load generator's own tables of every run are in the directory beside this report
  (`<server>/details.md`), with the JSON of each run.""")
print("\n".join(out))
