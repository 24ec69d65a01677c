"""The email gateway when things break, and with recipients = "address".

1. Storage down: parleyd on a PostgreSQL cluster of its own, the cluster stopped. An LMTP
   delivery straight to Parley gets 452 4.3.0 at RCPT, or after DATA when its RCPT was accepted
   before the outage; a mail through Postfix stays deferred in its queue. When the cluster is back, swaks sends again and Postfix retries: the offline user
   gets each mail exactly once (a third copy of the direct one is recognised by Message-ID).
2. kill -9: a burst of 50 mails through Postfix to an offline user; parleyd is killed in the
   middle of it and started again; Postfix delivers the rest and retries what was in flight.
   The user then has every mail exactly once (the gateway remembers Message-IDs per user).
3. recipients = "address": only addresses assigned to a user (parleyctl registrations add, or
   the admin API) take mail; USER@address_domain of a user without one gets 550 5.1.1; mail
   from the user goes out with the assigned address as From, and a user without one gets an
   error instead."""

import re
import smtplib
import threading
import time
import urllib.error
import urllib.request
from email.message import EmailMessage

import harness
import mailutil
from email_postfix_test import DOMAIN, jid_of, message_from, text_of, unescape
from smsutil import Api, login, quiet

USERS = "parley.test"
SENDER = "dave@remote.test"


def gateway_toml(lmtp_port, extra="", smtp_port=None):
    smtp = "" if smtp_port is None else f"""
[gateway.smtp]
url = "smtp://127.0.0.1:{smtp_port}"
tls = "none"
"""
    return f"""
[[gateway]]
domain = "{DOMAIN}"
kind = "email"
address_domain = "{USERS}"
lmtp_port = {lmtp_port}
{extra}
{smtp}
"""


def lmtp(port, *args):
    """swaks straight to Parley's LMTP listener; returns the CompletedProcess (not checked)."""
    return mailutil.swaks("--server", f"127.0.0.1:{port}", "--protocol", "LMTP", "--from", SENDER, *args)


def health(server):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.http_port}/health", timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def wait_for(predicate, timeout, what, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def offline_count(api, user):
    status, body = api.call("GET", f"/api/v1/users/{user}/offline/count")
    assert status == 200, (status, body)
    return body["count"]


def read_bodies(client, count, timeout=30):
    """Reads `count` messages from SENDER's contact; returns their bodies."""
    bodies = []
    for _ in range(count):
        stanza = client.read_until(message_from(SENDER), timeout=timeout)
        bodies.append(unescape(text_of(stanza, "body") or ""))
    return bodies


def log_of(server):
    with open(server.log_path, "rb") as f:
        return f.read().decode(errors="replace")


# --------------------------------------------------------------------------- 1. storage down

def outage_mail(local, text):
    return (f"From: {SENDER}\r\nTo: carol@{USERS}\r\nSubject: {local}\r\n"
            f"Message-ID: <{local}@remote.test>\r\n\r\n{text}\r\n")


def storage_down():
    started = time.monotonic()
    cluster = harness.PgCluster()
    cluster.start()
    try:
        lmtp_port = mailutil.free_port()
        with mailutil.PostfixInstance(lmtp_domains={USERS: lmtp_port}) as postfix, \
                harness.Server(tls="disabled", pg_cluster=cluster, extra_toml=gateway_toml(lmtp_port)) as server:
            server.add_user("carol", "pw-carol")
            mailutil.wait_for_port(lmtp_port)
            assert health(server) == 200

            # An LMTP transaction whose recipient was accepted before the outage: the message
            # cannot be stored after DATA, so the reply for that recipient is 452.
            session = smtplib.LMTP("127.0.0.1", lmtp_port, timeout=30)
            session.ehlo("remote.test")
            assert session.mail(SENDER)[0] == 250
            code, text = session.rcpt(f"carol@{USERS}")
            assert code == 250, (code, text)

            cluster.stop()
            wait_for(lambda: health(server) == 503, 30, "/health to answer 503")

            code, text = session.data(outage_mail("outage-data", "data while down"))
            assert (code, text[:5]) == (452, b"4.3.0"), (code, text)
            session.quit()

            # Straight to Parley: the recipient cannot be looked up, so RCPT gets 452.
            direct = ("--to", f"carol@{USERS}", "--header", "Subject: direct",
                      "--header", "Message-Id: <outage-direct@remote.test>", "--body", "direct while down")
            r = lmtp(lmtp_port, *direct)
            assert "452 4.3.0" in r.stdout, r.stdout
            assert r.returncode != 0, r.stdout

            # Through Postfix: accepted by Postfix, deferred on Parley's 452, kept in the queue.
            r = mailutil.swaks("--server", f"127.0.0.1:{postfix.port}", "--from", SENDER, "--to", f"carol@{USERS}",
                               "--header", "Subject: queued", "--header", "Message-Id: <outage-queued@remote.test>",
                               "--body", "queued while down")
            assert r.returncode == 0, (r.stdout, r.stderr)
            postfix.wait_log(r"to=<carol@parley\.test>.*status=deferred.*452 4\.3\.0", timeout=30)
            # (Postfix retries every few seconds, so the mail may be in the active queue a moment.)
            def deferred_on_452():
                queue = postfix.queue()
                assert len(queue) == 1, queue
                reason = queue[0]["recipients"][0].get("delay_reason", "")
                return queue[0]["queue_name"] == "deferred" and "452 4.3.0 storage is unavailable" in reason
            wait_for(deferred_on_452, 15, "the mail deferred in Postfix's queue with Parley's 452")
            assert "status=sent" not in postfix.log(), postfix.log()[-4000:]

            cluster.start()
            wait_for(lambda: health(server) == 200, 30, "/health to answer 200 again")
            down_for = time.monotonic()

            # The senders try again: 250; a third time, the same Message-ID is recognised (250,
            # no second copy).
            for attempt in range(2):
                r = lmtp(lmtp_port, *direct)
                assert r.returncode == 0 and "250 2.0.0" in r.stdout, (attempt, r.stdout)
                with smtplib.LMTP("127.0.0.1", lmtp_port, timeout=30) as session:
                    session.ehlo("remote.test")
                    reply = session.sendmail(SENDER, [f"carol@{USERS}"], outage_mail("outage-data", "data while down"))
                    assert reply == {}, (attempt, reply)
            postfix.flush()
            postfix.wait_log(r"to=<carol@parley\.test>.*status=sent", timeout=30)
            postfix.wait_queue_empty(timeout=30)
            print(f"storage down: Postfix delivered {time.monotonic() - down_for:.1f}s after the cluster was back")

            api = Api(server, server.ctl("token", "create", "--scope", "admin").stdout.strip())
            assert offline_count(api, "carol") == 3, offline_count(api, "carol")
            carol = login(server.c2s_port, "carol")
            # The subject comes first in the body ("direct\n\ndirect while down").
            bodies = sorted(b.split("\n")[-1] for b in read_bodies(carol, 3))
            assert bodies == ["data while down", "direct while down", "queued while down"], bodies
            time.sleep(1)
            quiet(carol, r"while down", "a mail arrived twice")
            log = log_of(server)
            assert "storage is unavailable" in log, "no 452 reason in parleyd's log"
    finally:
        cluster.destroy()
    print(f"storage down: {time.monotonic() - started:.1f}s")


# --------------------------------------------------------------------------- 2. kill -9

BURST = 50
SUBMITTERS = 10
KILL_AFTER = 10  # delivered mails before the kill


def burst_mail(i):
    m = EmailMessage()
    m["From"] = SENDER
    m["To"] = f"erin@{USERS}"
    m["Subject"] = f"burst {i}"
    m["Message-ID"] = f"<burst-{i}@remote.test>"
    m.set_content(f"burst marker {i:02d}")
    return m


def kill9_burst():
    started = time.monotonic()
    lmtp_port = mailutil.free_port()
    with mailutil.PostfixInstance(lmtp_domains={USERS: lmtp_port}) as postfix, \
            harness.Server(tls="disabled", extra_toml=gateway_toml(lmtp_port)) as server:
        server.add_user("erin", "pw-erin")
        mailutil.wait_for_port(lmtp_port)

        submitted = []
        failure = []
        lock = threading.Lock()

        def submit(first):
            # Several connections at once, so that Postfix has deliveries in flight to
            # parleyd when it is killed.
            try:
                with smtplib.SMTP("127.0.0.1", postfix.port, timeout=30) as s:
                    for i in range(first, BURST, SUBMITTERS):
                        s.send_message(burst_mail(i))
                        with lock:
                            submitted.append(i)
            except Exception as e:  # noqa: BLE001 - reported by the main thread
                failure.append(e)

        senders = [threading.Thread(target=submit, args=(k,), daemon=True) for k in range(SUBMITTERS)]
        for t in senders:
            t.start()
        sent = r"to=<erin@parley\.test>.*status=sent"
        wait_for(lambda: len(re.findall(sent, postfix.log())) >= KILL_AFTER or not any(t.is_alive() for t in senders),
                 30, f"Postfix to deliver {KILL_AFTER} mails of the burst", interval=0.01)
        delivered_before = len(re.findall(sent, postfix.log()))
        at_kill = len(submitted)
        server.kill9()
        print(f"kill -9 after {at_kill} of {BURST} mails submitted to Postfix, {delivered_before} delivered")
        assert delivered_before < BURST, "Postfix delivered the whole burst before the kill"
        for t in senders:
            t.join(timeout=60)
        assert not failure, failure
        assert sorted(submitted) == list(range(BURST)), submitted
        # While parleyd is down Postfix defers (connection refused, or lost in the middle).
        postfix.wait_log(r"to=<erin@parley\.test>.*status=deferred", timeout=30)

        server.start()
        restarted = time.monotonic()
        mailutil.wait_for_port(lmtp_port)
        postfix.flush()
        postfix.wait_queue_empty(timeout=90)
        print(f"kill -9: Postfix queue empty {time.monotonic() - restarted:.1f}s after the restart")
        log = postfix.log()
        assert not re.search(r"to=<erin@parley\.test>.*status=bounced", log), log[-4000:]
        deferred = re.findall(r"to=<erin@parley\.test>.*status=deferred \((.*)\)$", log, re.M)
        lost = [d for d in deferred if "lost connection" in d]
        print(f"kill -9: {len(deferred)} deferrals in Postfix's log, {len(lost)} of them cut off mid-transaction")

        api = Api(server, server.ctl("token", "create", "--scope", "admin").stdout.strip())
        held = offline_count(api, "erin")
        erin = login(server.c2s_port, "erin")
        bodies = read_bodies(erin, held, timeout=30)
        time.sleep(1)
        quiet(erin, r"burst marker", "more mails of the burst than expected")
        markers = sorted(re.search(r"burst marker (\d+)", b).group(1) for b in bodies)
        dupes = sorted({m for m in markers if markers.count(m) > 1})
        missing = sorted(set(f"{i:02d}" for i in range(BURST)) - set(markers))
        assert not missing and not dupes and held == BURST, \
            f"{held} held offline; missing {missing}; duplicates {dupes}"
    print(f"kill -9: {time.monotonic() - started:.1f}s")


# --------------------------------------------------------------------------- 3. recipients = "address"

def address_mode():
    started = time.monotonic()
    lmtp_port = mailutil.free_port()
    with mailutil.SmtpSink() as sink, \
            harness.Server(tls="disabled",
                           extra_toml=gateway_toml(lmtp_port, 'recipients = "address"', sink.port)) as server:
        for user in ("frank", "grace", "heidi"):
            server.add_user(user, "pw-" + user)
        mailutil.wait_for_port(lmtp_port)
        token = server.ctl("token", "create", "--scope", "admin").stdout.strip()
        api = Api(server, token)
        # frank's address through parleyctl, heidi's through the admin API; grace has none.
        server.env["PARLEY_API_TOKEN"] = token
        server.ctl("registrations", "add", "frank", DOMAIN, f"frank.f@{USERS}")
        status, body = api.call("POST", "/api/v1/users/heidi/registrations",
                                {"gateway": DOMAIN, "address": f"h.smith@{USERS}"})
        assert status == 201, (status, body)
        listed = server.ctl("registrations", "list", "frank").stdout
        assert f"frank.f@{USERS}" in listed, listed

        frank = login(server.c2s_port, "frank")
        grace = login(server.c2s_port, "grace")
        heidi = login(server.c2s_port, "heidi")

        # Mail to an assigned address reaches its owner.
        r = lmtp(lmtp_port, "--to", f"frank.f@{USERS}", "--header", "Subject: hi", "--body", "to frank's address")
        assert r.returncode == 0 and "250 2.0.0" in r.stdout, r.stdout
        got = frank.read_until(message_from(SENDER), timeout=30)
        assert "to frank&apos;s address" in got or "to frank's address" in got, got
        r = lmtp(lmtp_port, "--to", f"h.smith@{USERS}", "--body", "to heidi's address")
        assert r.returncode == 0 and "250 2.0.0" in r.stdout, r.stdout
        assert "heidi" in unescape(text_of(heidi.read_until(message_from(SENDER), timeout=30), "body"))

        # USER@address_domain takes nothing in this mode: not for grace (no address), not for
        # frank (whose address is another).
        for user in ("grace", "frank"):
            r = lmtp(lmtp_port, "--to", f"{user}@{USERS}", "--body", "by localpart")
            assert "550 5.1.1" in r.stdout, (user, r.stdout)
        quiet(grace, r"by localpart", "grace got mail without an assigned address")
        quiet(frank, r"by localpart", "frank got mail to frank@address_domain")

        # Outbound: the assigned address is the From and the envelope sender.
        frank.send(f"<message to='{jid_of('bob@example.org')}' id='f-1' type='chat'><body>from frank</body></message>")
        [mail] = sink.wait_for(1, timeout=30)
        assert mail.mail_from == f"frank.f@{USERS}", mail.mail_from
        assert mail.message["From"].addresses[0].addr_spec == f"frank.f@{USERS}", mail.message["From"]
        assert mail.rcpt_tos == ["bob@example.org"], mail.rcpt_tos
        assert "from frank" in mail.message.get_content(), mail.message.get_content()
        sink.clear()

        # grace has no address: an error comes back, nothing is sent.
        grace.send(f"<message to='{jid_of('bob@example.org')}' id='g-1' type='chat'><body>from grace</body></message>")
        failed = grace.read_until(r"<message(?=[^>]*id='g-1')[^>]*>.*?</message>", timeout=30)
        assert "type='error'" in failed and "no email address" in failed, failed
        time.sleep(0.5)
        assert sink.messages == [], sink.messages
    print(f"recipients = address: {time.monotonic() - started:.1f}s")


def scenario():
    storage_down()
    kill9_burst()
    address_mode()


if __name__ == "__main__":
    harness.run(scenario)
