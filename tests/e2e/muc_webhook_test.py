"""Inbound webhooks into chat rooms: a hook whose recipient is a room posts each POST as a
groupchat message from room@service/NICK (the hook's configured nick, else its name), seen
live by every occupant and kept in the room's history for newcomers. The room's rules apply to
the hook as to an occupant of its affiliation: members-only, moderated and password rooms take
it only as a member, a banned hook is refused, and it never takes a nick an occupant holds.
Every refusal is a 403 problem and delivers nothing; a room that does not exist is refused
too. A persistent room takes posts again after a restart."""

import json
import urllib.error
import urllib.request

import harness
import mucutil
import xmpp
from mucutil import room

SECRET = "hook-secret"
HOOK_JID = "gh@hooks.localhost"


def post(server, hook, payload):
    request = urllib.request.Request(f"http://127.0.0.1:{server.http_port}/hooks/{hook}",
                                     data=json.dumps(payload).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", f"Bearer {SECRET}")
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, json.loads(r.read().decode() or "{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode() or "{}")


def config():
    return f"""
[[gateway]]
domain = "hooks.localhost"
kind = "webhook"
[[gateway.hook]]
name = "gh"
inbound_secret = "{SECRET}"
recipient = "{room('ops')}"
nick = "github"
template = "json"
[[gateway.hook]]
name = "grafana"
inbound_secret = "{SECRET}"
recipient = "{room('ops')}"
template = "json"
"""


def no_groupchat(c, seconds=1.0):
    """Nothing but history from a room reached `c` for `seconds`."""
    xmpp.pump(seconds)
    while not c.messages.empty():
        m = c.messages.get_nowait()
        assert not (m["type"] == "groupchat" and m["body"]), f"an unexpected groupchat message arrived: {m}"


def refused(server, hook, payload):
    status, problem = post(server, hook, payload)
    assert status == 403, (status, problem)
    assert problem.get("type") == "urn:parley:problem:room-refused", problem


def scenario():
    with harness.Server(extra_toml=config()) as server:
        for user in ("alice", "bob", "carol", "dave"):
            server.add_user(user, user + "-pw")
        alice = mucutil.client(server, "alice", "alice-pw")
        bob = mucutil.client(server, "bob", "bob-pw")
        ops = room("ops")
        mucutil.create_reserved(alice, ops, "al", persistentroom=True)
        mucutil.join(bob, ops, "bob")
        mucutil.drain(alice)
        mucutil.drain(bob)

        # Live: every occupant gets it from ops@.../github (the configured nick).
        status, answer = post(server, "gh", {"body": "build #42 passed"})
        assert status == 202 and answer.get("id"), (status, answer)
        for c in (alice, bob):
            m = mucutil.next_groupchat(c)
            assert str(m["from"]) == ops + "/github" and m["body"] == "build #42 passed", m
            assert m["type"] == "groupchat", m
            assert m.xml.find("{http://jabber.org/protocol/nick}nick") is None, "the nick hint leaked"
        # Without a configured nick, the hook's name.
        status, _ = post(server, "grafana", {"body": "CPU high"})
        assert status == 202
        m = mucutil.next_groupchat(bob)
        assert str(m["from"]) == ops + "/grafana" and m["body"] == "CPU high", m

        # History: a newcomer gets the hook's messages from the same occupant JID.
        carol = mucutil.client(server, "carol", "carol-pw")
        _, _, _, history = mucutil.join(carol, ops, "carol")
        seen = [(str(h["from"]), h["body"]) for h in history]
        assert (ops + "/github", "build #42 passed") in seen, seen
        assert (ops + "/grafana", "CPU high") in seen, seen

        # A nick an occupant holds is not taken: 403, and nobody gets anything.
        dave = mucutil.client(server, "dave", "dave-pw")
        mucutil.join(dave, ops, "github")
        mucutil.drain(alice)
        mucutil.drain(bob)
        refused(server, "gh", {"body": "forged?"})
        no_groupchat(bob)
        mucutil.leave(dave, ops, "github")
        mucutil.next_presence_from(bob, ops + "/github", lambda p: p["type"] == "unavailable")

        # A room that does not exist.
        refused(server, "gh", {"to": room("nowhere"), "body": "lost?"})

        # Members-only: refused until the owner makes the hook a member.
        club = room("club")
        mucutil.create_reserved(alice, club, "al", membersonly=True)
        mucutil.drain(alice)
        refused(server, "gh", {"to": club, "body": "members only"})
        xmpp.run(alice["xep_0045"].set_affiliation(club, "member", jid=HOOK_JID))
        mucutil.drain(alice)
        status, _ = post(server, "gh", {"to": club, "body": "now a member"})
        assert status == 202
        m = mucutil.next_groupchat(alice)
        assert str(m["from"]) == club + "/github" and m["body"] == "now a member", m

        # Moderated: a non-member would be a visitor without voice.
        stage = room("stage")
        mucutil.create_reserved(alice, stage, "al", moderatedroom=True)
        refused(server, "gh", {"to": stage, "body": "no voice"})
        # Banned from an open room.
        xmpp.run(alice["xep_0045"].set_affiliation(ops, "outcast", jid=HOOK_JID, reason="noisy"))
        mucutil.drain(bob)
        refused(server, "gh", {"body": "banned"})
        no_groupchat(bob)
        # The other hook still may.
        status, _ = post(server, "grafana", {"body": "still here"})
        assert status == 202
        assert mucutil.next_groupchat(bob)["body"] == "still here"
        xmpp.run(alice["xep_0045"].set_affiliation(ops, "none", jid=HOOK_JID))

        # A user's message cannot pass for a hook's: the router stamps 'from' on what clients
        # send, so a <nick/> from bob is just part of his message, posted under his own nick.
        mucutil.drain(alice)
        msg = bob.make_message(mto=ops, mbody="I am github", mtype="groupchat")
        nick = msg.xml.makeelement("{http://jabber.org/protocol/nick}nick", {})
        nick.text = "github"
        msg.xml.append(nick)
        msg.send()
        m = mucutil.next_groupchat(alice)
        assert str(m["from"]) == ops + "/bob", m

        for c in (alice, bob, carol, dave):
            c.close()

        # The persistent room takes posts again after a restart, and a user who joins sees it.
        assert server.stop() == 0
        server.start()
        status, _ = post(server, "gh", {"body": "after the restart"})
        assert status == 202, status
        alice = mucutil.client(server, "alice", "alice-pw", resource="again")
        _, _, _, history = mucutil.join(alice, ops, "al")
        assert "after the restart" in [h["body"] for h in history], [h["body"] for h in history]
        alice.close()


if __name__ == "__main__":
    harness.run(scenario)
