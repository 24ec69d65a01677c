"""A site moves from the embedded SQLite default to PostgreSQL with `parleyctl storage copy`:
users (their passwords), rosters (subscriptions, groups, versions), offline messages and
message archives (with their ids) all arrive, and clients notice nothing but the restart."""

import os
import re

import harness
from rawxmpp import Raw


def login(port, name):
    r = Raw(port)
    r.open()
    r.scram_login(name, "pw-" + name, resource="r")
    r.send("<presence/>")
    return r


def roster(raw):
    raw.send("<iq type='get' id='rg'><query xmlns='jabber:iq:roster'/></iq>")
    return raw.read_until(r"<iq[^>]*id='rg'.*?</iq>")


def item_of(text, jid):
    m = re.search(r"<item [^>]*jid='" + re.escape(jid) + r"'[^>]*?(/>|>(.*?)</item>)", text)
    assert m, text
    tag = m.group(0)
    name = re.search(r"name='([^']*)'", tag)
    return {"subscription": re.search(r"subscription='([^']*)'", tag).group(1),
            "name": name.group(1) if name else "",
            "groups": re.findall(r"<group>([^<]*)</group>", m.group(2) or "")}


def scenario():
    # Before: the embedded default.
    with harness.Server(tls="disabled") as old:
        for name in ("alice", "bob", "carol"):
            old.add_user(name, "pw-" + name)
        alice = login(old.c2s_port, "alice")
        bob = login(old.c2s_port, "bob")
        alice.send("<iq type='set' id='r1'><query xmlns='jabber:iq:roster'>"
                   "<item jid='bob@localhost' name='Bob'><group>Friends</group></item></query></iq>")
        alice.read_until(r"<iq[^>]*id='r1'")
        # alice and bob subscribe to each other.
        for asker, answerer, asker_jid, answerer_jid in ((alice, bob, "alice@localhost", "bob@localhost"),
                                                          (bob, alice, "bob@localhost", "alice@localhost")):
            asker.send(f"<presence to='{answerer_jid}' type='subscribe'/>")
            answerer.read_until(r"<presence[^>]*type='subscribe'[^>]*/?>")
            answerer.send(f"<presence to='{asker_jid}' type='subscribed'/>")
            asker.read_until(r"<presence[^>]*type='subscribed'[^>]*/?>")
        assert item_of(roster(alice), "bob@localhost")["subscription"] == "both"
        # Offline messages for carol, in order.
        for i in range(3):
            alice.send(f"<message to='carol@localhost' type='chat' id='m{i}'><body>offline-{i}</body></message>")
        alice.send("<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
        alice.read_until(r"<iq[^>]*id='p1'")
        sqlite_db = os.path.join(old.dir, "data", "parley.db")

    # After: PostgreSQL (the fixture's server, a schema of its own).
    new = harness.Server(tls="disabled", pg_cluster=harness.fixture_pg_cluster())
    copied = new.ctl("storage", "copy", "--from", "sqlite:" + sqlite_db)
    assert "copied 3 users, 6 credentials, 2 roster items, 3 offline messages" in copied.stdout, copied.stdout
    # alice's archive keeps what she sent, carol's what she received.
    assert "6 archived messages" in copied.stdout, copied.stdout
    # Copying into a storage that holds users already is refused.
    again = new.ctl("storage", "copy", "--from", "sqlite:" + sqlite_db, check=False)
    assert again.returncode != 0 and "empty storage" in again.stderr, again.stderr
    # migrate on an up-to-date database is a no-op that reports the version.
    assert re.search(r"PostgreSQL .*: schema version \d+", new.ctl("storage", "migrate").stdout)

    with new:
        alice = login(new.c2s_port, "alice")  # the password survived
        bob_item = item_of(roster(alice), "bob@localhost")
        assert bob_item == {"subscription": "both", "name": "Bob", "groups": ["Friends"]}, bob_item
        # carol's messages, in order and with their original stamps.
        carol = login(new.c2s_port, "carol")
        got = carol.read_until(r"offline-2</body>.*?</message>")
        assert re.findall(r"<body>([^<]*)</body>", got) == ["offline-0", "offline-1", "offline-2"], got
        assert got.count("urn:xmpp:delay") == 3, got
        # Their archive ids came along: the same ids in the archive and on the messages.
        delivered = re.findall(r"<stanza-id xmlns='urn:xmpp:sid:0' by='carol@localhost' id='([^']+)'/>", got)
        assert len(delivered) == 3, got
        carol.send("<iq type='set' id='q1'><query xmlns='urn:xmpp:mam:2' queryid='q'/></iq>")
        archived = carol.read_until(r"<iq[^>]*id='q1'.*?</iq>")
        assert re.findall(r"<result xmlns='urn:xmpp:mam:2' queryid='q' id='([^']+)'>", archived) == delivered, archived


if __name__ == "__main__":
    harness.run(scenario)
