"""The SMS gateway's sending policy, with the twilio provider (the stand-in of sms_twilio_test)
and real Kannel as its failover:
- STOP, START and HELP from a phone (any case, padded) change the opt-out list and are answered
  from the number with the configured text ([gateway.keywords], overridden per number by
  [[gateway.number]]); the owner still sees them. While a phone has opted out, a message to it
  is refused with an error that says so, and nothing reaches the provider.
- number_rate_per_second spaces the messages of one number.
- When Twilio fails transiently (503), the message goes out through Kannel at once.
Needs Debian's kannel and kannel-extras, like sms_kannel_test."""

import os
import re
import time

import harness
from smsutil import DOMAIN, Api, login, message_from
from sms_kannel_test import PASSWORD, SECRET, Kannel, skip_unless_kannel
from sms_twilio_test import FAR, TOKEN, TOKEN_ENV, FakeTwilio, gateway_toml, inbound

NUMBER = "+15550100001"
RATE = 4  # messages per second from one number


def config(fake, kannel):
    extra = f"""number_rate_per_second = {RATE}
failover = "kannel"
[gateway.keywords]
stop = ["STOP", "ARRET"]
stop_reply = "Unsubscribed. Reply START to come back."
[[gateway.number]]
number = "{NUMBER}"
help_reply = "Alice's line. Reply STOP to unsubscribe."
[gateway.kannel]
sendsms_url = "{kannel.sendsms_url}"
username = "parley"
password_env = "PARLEY_TEST_KANNEL_PASSWORD"
inbound_secret = "{SECRET}"
"""
    return gateway_toml(fake, extra)


def scenario():
    skip_unless_kannel()
    os.environ[TOKEN_ENV] = TOKEN
    os.environ["PARLEY_TEST_KANNEL_PASSWORD"] = PASSWORD
    fake = FakeTwilio()
    kannel = Kannel()
    server = harness.Server(tls="disabled", extra_toml=config(fake, kannel))
    kannel.write_config(server.http_port)
    try:
        kannel.start_bearerbox()
        kannel.start_smsbox()
        kannel.start_fakesmsc()
        run_with(server, fake, kannel)
    except BaseException:
        kannel.dump()
        raise
    finally:
        kannel.stop_all()


def replies(fake, body):
    return [m for m in fake.accepted if m["body"] == body and m["from"] == NUMBER and m["to"] == FAR]


def run_with(server, fake, kannel):
    with server:
        server.add_user("alice", "pw-alice")
        api = Api(server, server.ctl("token", "create", "--scope", "admin").stdout.strip())
        assert api.assign("alice", NUMBER) == NUMBER
        alice = login(server.c2s_port, "alice")

        # ---- STOP (a configured synonym, in any case, padded): recorded, answered, shown.
        alice.send(f"<message to='{FAR}@{DOMAIN}' id='p-1' type='chat'><body>before stop</body></message>")
        fake.wait_for(lambda m: m["body"] == "before stop")
        status, _, text = inbound(server, "SM" + "a" * 32, FAR, NUMBER, "  arret ")
        assert status == 200, (status, text)
        assert "arret" in alice.read_until(message_from(FAR)), "the owner did not see the STOP"
        fake.wait_for(lambda m: m["body"] == "Unsubscribed. Reply START to come back." and m["to"] == FAR,
                      what="the STOP answer")
        # A repeat of the same inbound SMS is not answered twice.
        status, _, _ = inbound(server, "SM" + "a" * 32, FAR, NUMBER, "  arret ")
        assert status == 200
        time.sleep(0.5)
        assert len(replies(fake, "Unsubscribed. Reply START to come back.")) == 1

        # ---- honoured before sending
        sent_before = len(fake.requests)
        alice.send(f"<message to='{FAR}@{DOMAIN}' id='p-2' type='chat'><body>after stop</body></message>")
        error = alice.read_until(r"<message[^>]*id='p-2'.*?</message>", timeout=20)
        assert "type='error'" in error and "opted out" in error, error
        assert not [m for m in fake.accepted if m["body"] == "after stop"]
        assert not [r for r in fake.requests[sent_before:] if dict(r[1]).get("Body") == "after stop"]
        assert not [m for m in kannel.received() if "after stop" in m[3]]

        # ---- HELP: the number's own answer; START: back in.
        status, _, _ = inbound(server, "SM" + "b" * 32, FAR, NUMBER, "Help")
        assert status == 200
        fake.wait_for(lambda m: m["body"] == "Alice's line. Reply STOP to unsubscribe.", what="the HELP answer")
        status, _, _ = inbound(server, "SM" + "c" * 32, FAR, NUMBER, "START")
        assert status == 200
        fake.wait_for(lambda m: m["body"] == "You are resubscribed. Reply STOP to unsubscribe.",
                      what="the START answer")
        alice.send(f"<message to='{FAR}@{DOMAIN}' id='p-3' type='chat'><body>after start</body></message>")
        fake.wait_for(lambda m: m["body"] == "after start")

        # ---- pacing: RATE per second from one number, whatever the client sends at once.
        burst = [f"burst {i}" for i in range(2 * RATE)]
        alice.send("".join(f"<message to='{FAR}@{DOMAIN}' id='r-{i}' type='chat'><body>{b}</body></message>"
                           for i, b in enumerate(burst)))
        for b in burst:
            fake.wait_for(lambda m, b=b: m["body"] == b, what=b)
        times = sorted(m["at"] for m in fake.accepted if m["body"].startswith("burst "))
        spread = times[-1] - times[0]
        # 8 sends at 4/s take at least 7 intervals of 0.25 s (a lower bound: a slow machine only
        # spreads them more).
        assert spread >= (len(burst) - 1) / RATE * 0.9, (spread, times)

        # ---- failover: Twilio answers 503, Kannel takes the message at once.
        fake.down = True
        alice.send(f"<message to='{FAR}@{DOMAIN}' id='f-1' type='chat'><body>through kannel</body></message>")
        (part,) = kannel.wait_for_mt(lambda m: "through kannel" in m[3], what="the failover message")
        assert part[:3] == (NUMBER, FAR, "text"), part
        assert not [m for m in fake.accepted if m["body"] == "through kannel"]
        fake.down = False
        alice.sock.close()


if __name__ == "__main__":
    harness.run(scenario)
