"""Message archives (XEP-0313) with stanza ids (XEP-0359), as a user sees them:
- bob and carol write to alice, alice answers; each message alice receives carries
  <stanza-id by='alice@localhost'/> (a forged one is replaced) and the same id comes back from
  her archive; <no-store/> messages and chat states are not archived;
- queries with slixmpp's xep_0313 plugin (paged through RSM, forward and backward), and raw
  queries for every filter: with, start, end, before-id, after-id, ids, flip-page, max 0;
- bad queries get stanza errors (jid-malformed, bad-request, item-not-found);
- messages to an offline alice are archived and delivered later with their ids, also when
  her offline storage is full; the archive survives a restart;
- preferences (default never, always/never lists) decide what is kept;
- metadata, disco features;
- a chat room's archive: status 170 on entry, <stanza-id by=room/> on groupchat messages,
  queried by an occupant with slixmpp and refused to a banned user."""

import re
import time
from datetime import datetime, timezone

import harness
import mucutil
from smsutil import login, quiet
import xmpp

MAM = "urn:xmpp:mam:2"
SID = "urn:xmpp:sid:0"
RSM = "http://jabber.org/protocol/rsm"
FORM = "jabber:x:data"


def iq(client, ident, payload, kind="set", to=None):
    return client.iq(ident, payload, kind=kind, to=to)


def field(var, *values):
    return f"<field var='{var}'>" + "".join(f"<value>{v}</value>" for v in values) + "</field>"


def query(client, ident, fields="", rsm="", extra=""):
    """A raw MAM query; returns (the results' (id, body) in order, the fin iq's text)."""
    form = (f"<x xmlns='{FORM}' type='submit'>{field('FORM_TYPE', MAM)}{fields}</x>") if fields else ""
    rsm_el = f"<set xmlns='{RSM}'>{rsm}</set>" if rsm else ""
    client.send(f"<iq type='set' id='{ident}'><query xmlns='{MAM}' queryid='q-{ident}'>{form}{rsm_el}{extra}"
                f"</query></iq>")
    text = client.read_until(rf"<iq[^>]*id='{ident}'[^>]*/>|<iq[^>]*id='{ident}'.*?</iq>", timeout=15)
    results = []
    for m in re.finditer(rf"<result xmlns='{MAM}' queryid='q-{ident}' id='([^']+)'>(.*?)</result>", text, re.S):
        body = re.search(r"<body>(.*?)</body>", m.group(2), re.S)
        assert "<delay xmlns='urn:xmpp:delay' stamp=" in m.group(2), m.group(2)
        results.append((m.group(1), body.group(1) if body else None))
    fin = text[text.rfind("<iq"):]
    return results, fin


def bodies(results):
    return [b for _, b in results]


def stanza_id(text):
    m = re.search(rf"<stanza-id xmlns='{SID}' by='alice@localhost' id='([^']+)'/>", text)
    assert m, f"no stanza-id by alice@localhost in {text}"
    return m.group(1)


def chat(sender, to, ident, body, extra=""):
    sender.send(f"<message to='{to}' id='{ident}' type='chat'><body>{body}</body>{extra}</message>")


def scenario():
    extra = """
[storage]
offline_quota = 2
"""
    with harness.Server(tls="optional", extra_toml=extra, c2s_extra="sm_resume_timeout_seconds = 0") as server:
        for user in ("alice", "bob", "carol", "dave", "erin"):
            server.add_user(user, "pw-" + user)
        alice = login(server.c2s_port, "alice")
        bob = login(server.c2s_port, "bob")
        carol = login(server.c2s_port, "carol")

        info = iq(alice, "d1", "<query xmlns='http://jabber.org/protocol/disco#info'/>", kind="get",
                  to="alice@localhost")
        for feature in (MAM, MAM + "#extended", SID):
            assert f"var='{feature}'" in info, info
        fields = iq(alice, "f1", f"<query xmlns='{MAM}'/>", kind="get")
        for var in ("with", "start", "end", "before-id", "after-id", "ids"):
            assert f"var='{var}'" in fields, fields

        # Received messages carry the archive's id; a forged one is replaced.
        ids = {}
        for n in range(1, 4):
            chat(bob, "alice@localhost", f"b{n}", f"bob {n}")
            ids[f"bob {n}"] = stanza_id(alice.read_until(rf"<message[^>]*id='b{n}'.*?</message>"))
        chat(bob, "alice@localhost", "forged", "bob forged",
             f"<stanza-id xmlns='{SID}' by='alice@localhost' id='FORGED'/>")
        got = alice.read_until(r"<message[^>]*id='forged'.*?</message>")
        assert "FORGED" not in got, got
        ids["bob forged"] = stanza_id(got)
        before_carol = datetime.now(timezone.utc)
        time.sleep(1.1)
        for n in range(1, 3):
            chat(carol, "alice@localhost/phone", f"c{n}", f"carol {n}")
            ids[f"carol {n}"] = stanza_id(alice.read_until(rf"<message[^>]*id='c{n}'.*?</message>"))
        # Not archived: a <no-store/> hint, a chat state without body.
        chat(bob, "alice@localhost", "ns", "bob secret", "<no-store xmlns='urn:xmpp:hints'/>")
        got = alice.read_until(r"<message[^>]*id='ns'.*?</message>")
        assert "<stanza-id" not in got, got
        bob.send("<message to='alice@localhost' type='chat' id='cs'>"
                 "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>")
        alice.read_until(r"<message[^>]*id='cs'.*?</message>")
        # What alice sends is in her archive (and in bob's, as received).
        chat(alice, "bob@localhost", "a1", "alice 1")
        bob_copy = bob.read_until(r"<message[^>]*id='a1'.*?</message>")
        assert re.search(rf"<stanza-id xmlns='{SID}' by='bob@localhost' id='[^']+'/>", bob_copy), bob_copy

        everything = ["bob 1", "bob 2", "bob 3", "bob forged", "carol 1", "carol 2", "alice 1"]
        results, fin = query(alice, "all")
        assert bodies(results) == everything, results
        assert "complete='true'" in fin and "<count>7</count>" in fin, fin
        for result_id, body in results:
            if body in ids:
                assert ids[body] == result_id, (body, ids[body], result_id)

        # Filters.
        results, _ = query(alice, "w1", field("with", "carol@localhost"))
        assert bodies(results) == ["carol 1", "carol 2"], results
        results, _ = query(alice, "w2", field("with", "bob@localhost/whatever"))
        assert bodies(results) == ["bob 1", "bob 2", "bob 3", "bob forged", "alice 1"], results
        stamp = before_carol.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        results, _ = query(alice, "s1", field("start", stamp))
        assert bodies(results) == ["carol 1", "carol 2", "alice 1"], results
        results, _ = query(alice, "e1", field("end", stamp))
        assert bodies(results) == ["bob 1", "bob 2", "bob 3", "bob forged"], results
        results, _ = query(alice, "a1", field("after-id", ids["bob 3"]) + field("before-id", ids["carol 2"]))
        assert bodies(results) == ["bob forged", "carol 1"], results
        results, _ = query(alice, "i1", field("ids", ids["carol 2"], ids["bob 1"]))
        assert bodies(results) == ["bob 1", "carol 2"], results
        results, fin = query(alice, "z1", rsm="<max>0</max>")
        assert results == [] and "complete='true'" not in fin and "<count>7</count>" in fin, fin

        # Paging by hand: forward pages of 3, then the last page and the one before it.
        results, fin = query(alice, "p1", rsm="<max>3</max>")
        assert bodies(results) == everything[:3] and "complete='true'" not in fin, fin
        last = re.search(r"<last>([^<]+)</last>", fin).group(1)
        results, fin = query(alice, "p2", rsm=f"<max>3</max><after>{last}</after>")
        assert bodies(results) == everything[3:6] and "complete='true'" not in fin, fin
        last = re.search(r"<last>([^<]+)</last>", fin).group(1)
        results, fin = query(alice, "p3", rsm=f"<max>3</max><after>{last}</after>")
        assert bodies(results) == everything[6:] and "complete='true'" in fin, fin
        results, fin = query(alice, "p4", rsm="<max>2</max><before/>")
        assert bodies(results) == everything[5:] and "complete='true'" not in fin, fin
        first = re.search(r"<first>([^<]+)</first>", fin).group(1)
        results, fin = query(alice, "p5", rsm=f"<max>10</max><before>{first}</before>")
        assert bodies(results) == everything[:5] and "complete='true'" in fin, fin
        results, _ = query(alice, "p6", rsm="<max>2</max><before/>", extra=f"<flip-page/>")
        assert bodies(results) == ["alice 1", "carol 2"], results

        # Bad queries.
        bad = iq(alice, "x1", f"<query xmlns='{MAM}'><x xmlns='{FORM}' type='submit'>{field('with', 'a@@b')}</x></query>")
        assert "jid-malformed" in bad, bad
        bad = iq(alice, "x2", f"<query xmlns='{MAM}'><x xmlns='{FORM}' type='submit'>{field('start', 'yesterday')}</x></query>")
        assert "bad-request" in bad, bad
        bad = iq(alice, "x3", f"<query xmlns='{MAM}'><set xmlns='{RSM}'><after>nope</after></set></query>")
        assert "item-not-found" in bad, bad
        bad = iq(alice, "x4", f"<query xmlns='{MAM}'><x xmlns='{FORM}' type='submit'>{field('fulltext', 'x')}</x></query>")
        assert "bad-request" in bad, bad
        bad = iq(alice, "x5", f"<query xmlns='{MAM}'><set xmlns='{RSM}'><max>lots</max></set></query>")
        assert "bad-request" in bad, bad
        bad = iq(bob, "x6", f"<query xmlns='{MAM}'/>", to="alice@localhost")
        assert "type='error'" in bad, bad  # nobody reads another user's archive

        # Metadata: the first and the last message.
        meta = iq(alice, "m1", f"<metadata xmlns='{MAM}'/>", kind="get")
        assert f"<start id='{ids['bob 1']}'" in meta and "<end id=" in meta, meta

        # slixmpp's client: the whole archive in pages of 2, and the newest first.
        sx = xmpp.Client("alice@localhost/sx", "pw-alice")
        sx.register_plugin("xep_0313")
        sx.register_plugin("xep_0059")
        assert sx.login(server.c2s_port)

        async def collect(reverse):
            out = []
            async for m in sx["xep_0313"].iterate(rsm={"max": 2}, reverse=reverse):
                out.append(m["mam_result"]["forwarded"]["stanza"]["body"])
            return out
        assert xmpp.run(collect(False)) == everything
        assert xmpp.run(collect(True)) == list(reversed(everything))
        sx.close()

        # Offline: archived, and delivered later with the same id, past the offline quota too.
        alice.send("<presence type='unavailable'/>")
        alice.sock.close()
        time.sleep(0.5)
        for n in range(1, 4):
            chat(bob, "alice@localhost", f"o{n}", f"offline {n}")
        refused = bob.read_until(r"<message(?=[^>]*id='o3')(?=[^>]*type='error')[^>]*>.*?</message>")
        assert "service-unavailable" in refused, refused
        alice = login(server.c2s_port, "alice")
        held = alice.read_until(r"<message[^>]*id='o2'.*?</message>")
        assert "offline 1" in held, held
        results, _ = query(alice, "off", field("with", "bob@localhost"), rsm="<max>3</max><before/>")
        assert bodies(results) == ["offline 1", "offline 2", "offline 3"], results
        assert stanza_id(held[held.find("id='o2'"):]) == results[1][0]

        # Preferences: keep nothing but carol.
        answer = iq(alice, "pr1", f"<prefs xmlns='{MAM}' default='never'><always><jid>carol@localhost</jid></always>"
                                  "<never/></prefs>")
        assert "default='never'" in answer and "<jid>carol@localhost</jid>" in answer, answer
        chat(bob, "alice@localhost", "np1", "bob not kept")
        assert "<stanza-id" not in alice.read_until(r"<message[^>]*id='np1'.*?</message>")
        chat(carol, "alice@localhost", "np2", "carol kept")
        stanza_id(alice.read_until(r"<message[^>]*id='np2'.*?</message>"))
        bad = iq(alice, "pr2", f"<prefs xmlns='{MAM}' default='sometimes'/>")
        assert "bad-request" in bad, bad

        # Restart: the archive and the preferences are still there.
        for c in (alice, bob, carol):
            c.sock.close()
        server.stop()
        server.start()
        alice = login(server.c2s_port, "alice")
        results, fin = query(alice, "after-restart")
        assert bodies(results) == everything + ["offline 1", "offline 2", "offline 3", "carol kept"], results
        prefs = iq(alice, "pr3", f"<prefs xmlns='{MAM}'/>", kind="get")
        assert "default='never'" in prefs and "<jid>carol@localhost</jid>" in prefs, prefs

        # A message erin received from alice but never acknowledged (XEP-0198) goes to offline storage when
        # her session ends, and is archived once, with the id it was delivered with.
        erin = login(server.c2s_port, "erin")
        erin.send("<enable xmlns='urn:xmpp:sm:3'/>")
        erin.read_until(r"<enabled[^>]*/>")
        chat(alice, "erin@localhost", "sm1", "unacked")
        first = erin.read_until(r"<message[^>]*id='sm1'.*?</message>")
        first_id = re.search(rf"<stanza-id xmlns='{SID}' by='erin@localhost' id='([^']+)'/>", first).group(1)
        erin.sock.close()
        time.sleep(0.5)
        erin = login(server.c2s_port, "erin")
        again = erin.read_until(r"<message[^>]*id='sm1'.*?</message>")
        assert f"id='{first_id}'" in again and again.count("<stanza-id") == 1, again
        results, _ = query(erin, "sm-q")
        assert results == [(first_id, "unacked")], results

        # A chat room's archive.
        owner = mucutil.client(server, "dave", "pw-dave")
        room = mucutil.room("archived")
        pres = mucutil.create_instant(owner, room, "dave")
        assert 170 in pres["muc"]["status_codes"], pres
        info = mucutil.disco_info(owner, room)
        assert MAM in info["features"], info
        xmpp.run(owner["xep_0045"].set_affiliation(room, "outcast", jid="bob@localhost"))
        for n in range(1, 4):
            owner.send_message(mto=room, mbody=f"room {n}", mtype="groupchat")
            echo = mucutil.next_groupchat(owner)
            sid = echo.xml.find(f"{{{SID}}}stanza-id")
            assert sid is not None and sid.get("by") == room and sid.get("id"), echo
        owner.register_plugin("xep_0313")
        owner.register_plugin("xep_0059")

        async def room_archive():
            return [m["mam_result"]["forwarded"]["stanza"]["body"]
                    async for m in owner["xep_0313"].iterate(jid=room, rsm={"max": 2})]
        assert xmpp.run(room_archive()) == ["room 1", "room 2", "room 3"]
        # A banned user may not read it; someone outside a public room may.
        bob = login(server.c2s_port, "bob")
        denied = iq(bob, "r1", f"<query xmlns='{MAM}'/>", to=room)
        assert "forbidden" in denied, denied
        results_text = iq(alice, "r2", f"<query xmlns='{MAM}' queryid='rq'/>", to=room)
        assert "complete='true'" in results_text, results_text
        quiet(alice, r"<message[^>]*type='error'", "an error came back from the room")


if __name__ == "__main__":
    harness.run(scenario)
