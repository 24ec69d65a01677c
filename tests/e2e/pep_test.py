"""Personal eventing (XEP-0163) as clients use it:
- slixmpp's XEP-0084 plugin publishes alice's avatar (data, then metadata); bob's slixmpp,
  subscribed to her presence and announcing "+notify" for the metadata through its entity
  capabilities (XEP-0115), gets the notification and fetches the data; carol, not subscribed,
  is refused (access model presence);
- filtering by "+notify": a raw resource of bob with verified capabilities naming only the
  metadata gets that node's events and not another node's; the server asked it for its
  features once, and a second resource with the same capabilities is not asked again but
  gets the last item on coming online (XEP-0163 §4.3.2); a retraction reaches it;
- bookmarks (XEP-0402): publish-options (whitelist, max items, never send last) create the
  node; two items kept; bob is refused (closed node); options that differ from the node's
  are a conflict with precondition-not-met; OMEMO's device list with access model open can
  be read by carol;
- avatar conversion (XEP-0398): the published avatar appears in alice's vCard and its hash in
  her presence (not when the client sends an empty <photo/>); carol's vCard photo becomes her
  XEP-0084 avatar;
- the account advertises the pubsub/pep identity and publish-options; disco#items lists the
  nodes a requester may see; owner operations (configure, purge, delete) work and notify;
- everything survives a restart; deleting the account deletes its nodes."""

import base64
import hashlib
import re

import harness
from rawxmpp import Raw
from smsutil import login
import xmpp

PUBSUB = "http://jabber.org/protocol/pubsub"
OWNER = "http://jabber.org/protocol/pubsub#owner"
META = "urn:xmpp:avatar:metadata"
BOOKMARKS = "urn:xmpp:bookmarks:1"
DEVICES = "eu.siacs.conversations.axolotl.devicelist"
CAPS_NODE = "urn:parley:test"


def befriend(a, a_jid, b, b_jid):
    """Mutual presence subscription between two raw clients."""
    for asker, asker_jid, answerer, answerer_jid in ((a, a_jid, b, b_jid), (b, b_jid, a, a_jid)):
        asker.send(f"<presence to='{answerer_jid}' type='subscribe'/>")
        answerer.read_until(r"<presence[^>]*type='subscribe'[^>]*/?>")
        answerer.send(f"<presence to='{asker_jid}' type='subscribed'/>")
        asker.read_until(r"<presence[^>]*type='subscribed'[^>]*/?>")


def caps_ver(features):
    s = "client/pc//raw<" + "".join(f + "<" for f in sorted(features))
    return base64.b64encode(hashlib.sha1(s.encode()).digest()).decode()


def caps_client(port, user, resource, features, expect_query=True):
    """A raw client whose presence carries verified capabilities listing `features`; answers
    the server's disco#info query for them. Returns the client and what it read meanwhile."""
    c = Raw(port)
    c.open()
    c.scram_login(user, "pw-" + user, resource=resource)
    ver = caps_ver(features)
    c.send(f"<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='{CAPS_NODE}' ver='{ver}'/>"
           "</presence>")
    seen = ""
    if expect_query:
        seen = c.read_until(r"<iq[^>]*type='get'[^>]*>.*?</iq>")
        ident = re.search(r"id='([^']+)'", seen.split("<iq", 1)[1]).group(1)
        assert f"node='{CAPS_NODE}#{ver}'" in seen, seen
        feats = "".join(f"<feature var='{f}'/>" for f in features)
        c.send(f"<iq type='result' id='{ident}' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info' "
               f"node='{CAPS_NODE}#{ver}'><identity category='client' type='pc' name='raw'/>{feats}</query></iq>")
    return c, seen


def publish(client, ident, node, item_id, payload, options=""):
    opts = ""
    if options:
        opts = ("<publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'>"
                f"<value>{PUBSUB}#publish-options</value></field>{options}</x></publish-options>")
    item = f"<item id='{item_id}'>{payload}</item>" if item_id else f"<item>{payload}</item>"
    return client.iq(ident, f"<pubsub xmlns='{PUBSUB}'><publish node='{node}'>{item}</publish>{opts}</pubsub>")


def field(var, value):
    return f"<field var='{var}'><value>{value}</value></field>"


def slix(server, user):
    c = xmpp.Client(f"{user}@localhost/slix", "pw-" + user)
    for plugin in ("xep_0060", "xep_0115", "xep_0163", "xep_0084"):
        c.register_plugin(plugin)
    assert c.login(server.c2s_port), f"{user} could not log in"
    return c


def scenario():
    with harness.Server(tls="optional") as server:
        for user in ("alice", "bob", "carol"):
            server.add_user(user, "pw-" + user)
        alice = login(server.c2s_port, "alice", resource="raw")
        bob = login(server.c2s_port, "bob", resource="raw")
        carol = login(server.c2s_port, "carol", resource="raw")
        befriend(alice, "alice@localhost", bob, "bob@localhost")

        # The account is a PEP service (XEP-0163 §1) with publish-options (XEP-0060 §7.1.5).
        info = alice.iq("d1", "<query xmlns='http://jabber.org/protocol/disco#info'/>", kind="get")
        assert "category='pubsub' type='pep'" in info and f"var='{PUBSUB}#publish-options'" in info, info
        assert "var='urn:xmpp:pep-vcard-conversion:0'" in info, info
        theirs = carol.iq("d2", "<query xmlns='http://jabber.org/protocol/disco#info'/>", kind="get",
                          to="alice@localhost")
        assert "category='pubsub' type='pep'" in theirs, theirs

        # Avatars with slixmpp (XEP-0084): bob's client announces +notify for the metadata.
        sa = slix(server, "alice")
        sb = slix(server, "bob")
        got = []
        sb.add_event_handler("avatar_metadata_publish", lambda m: got.append(m))
        xmpp.pump(1.0)  # the server asks both clients for their capabilities
        image = bytes(range(256)) * 16
        avatar_id = hashlib.sha1(image).hexdigest()
        xmpp.run(sa["xep_0084"].publish_avatar(image))
        xmpp.run(sa["xep_0084"].publish_avatar_metadata(
            items=[{"id": avatar_id, "type": "image/png", "bytes": str(len(image)), "width": "64", "height": "64"}]))
        for _ in range(30):
            if got:
                break
            xmpp.pump(0.2)
        assert got, "bob's client got no avatar metadata notification"
        info_items = got[0]["pubsub_event"]["items"]["item"]["avatar_metadata"]["items"]
        assert [i["id"] for i in info_items] == [avatar_id], info_items
        fetched = xmpp.run(sb["xep_0084"].retrieve_avatar("alice@localhost", avatar_id))
        assert fetched["pubsub"]["items"]["item"]["avatar_data"]["value"] == image
        # XEP-0398 §3.1: the avatar went into alice's vCard, and (§4) its hash into her presence.
        card = bob.iq("v1", "<vCard xmlns='vcard-temp'/>", kind="get", to="alice@localhost")
        assert "<TYPE>image/png</TYPE>" in card, card[:300]
        assert base64.b64encode(image).decode() in card.replace("\n", ""), card[:300]
        alice.send("<presence><show>away</show></presence>")
        seen = bob.read_until(r"<presence(?=[^>]*from='alice@localhost/raw')[^>]*[^/]>.*?</presence>")
        assert f"<photo>{avatar_id}</photo>" in seen and "<show>away</show>" in seen, seen
        # A client that has not read the vCard yet says so with an empty <photo/>: left alone.
        alice.send("<presence><x xmlns='vcard-temp:x:update'><photo/></x></presence>")
        seen = bob.read_until(r"<presence(?=[^>]*from='alice@localhost/raw')[^>]*[^/]>.*?</presence>")
        assert "<photo/>" in seen and avatar_id not in seen, seen
        # §3.2: a photo stored in a vCard becomes a XEP-0084 avatar.
        small = bytes(range(200))
        encoded = base64.b64encode(small).decode()
        answer = carol.iq("v2", f"<vCard xmlns='vcard-temp'><FN>Carol</FN><PHOTO><TYPE>image/jpeg</TYPE>"
                                f"<BINVAL>{encoded[:100]}\n{encoded[100:]}</BINVAL></PHOTO></vCard>")
        assert "type='result'" in answer, answer
        sha = hashlib.sha1(small).hexdigest()
        meta = carol.iq("v3", f"<pubsub xmlns='{PUBSUB}'><items node='{META}'/></pubsub>", kind="get")
        assert f"id='{sha}'" in meta and "type='image/jpeg'" in meta and "bytes='200'" in meta, meta
        data = carol.iq("v4", f"<pubsub xmlns='{PUBSUB}'><items node='urn:xmpp:avatar:data'/></pubsub>", kind="get")
        assert encoded in data, data
        carol.send("<presence/>")
        mine = carol.read_until(r"<presence(?=[^>]*from='carol@localhost/raw')[^>]*[^/]>.*?</presence>")
        assert f"<photo>{sha}</photo>" in mine, mine
        # carol is not subscribed to alice's presence: the default access model refuses her.
        refused = carol.iq("a1", f"<pubsub xmlns='{PUBSUB}'><items node='urn:xmpp:avatar:data'/></pubsub>", kind="get",
                           to="alice@localhost")
        assert "not-authorized" in refused and "presence-subscription-required" in refused, refused
        # Nobody publishes to another account's service.
        forged = publish(bob, "a2", META, "x", f"<metadata xmlns='{META}'/>")
        assert "type='result'" in forged, forged  # bob's own node
        forged = bob.iq("a3", f"<pubsub xmlns='{PUBSUB}'><publish node='{META}'><item id='x'>"
                              f"<metadata xmlns='{META}'/></item></publish></pubsub>", to="alice@localhost")
        assert "forbidden" in forged, forged
        sa.close()
        sb.close()

        # "+notify" filtering with a raw resource of bob interested in the metadata only.
        features = ["http://jabber.org/protocol/caps", "http://jabber.org/protocol/disco#info", META + "+notify"]
        bob2, seen = caps_client(server.c2s_port, "bob", "notify", features)
        alice.iq("f1", "<ping xmlns='urn:xmpp:ping'/>", kind="get", to="localhost")
        publish(alice, "f2", "urn:example:unrelated", "u1", "<thing xmlns='urn:example'/>")
        answer = publish(alice, "f3", META, "m2", f"<metadata xmlns='{META}'><info id='m2' bytes='1' type='image/png'/>"
                                              "</metadata>")
        assert "<item id='m2'/>" in answer, answer
        event = bob2.read_until(r"<message[^>]*>.*?</message>")
        while "type='headline'" in event and "m2" not in event:
            assert "urn:example:unrelated" not in event, event
            event = bob2.read_until(r"<message[^>]*>.*?</message>")
        assert f"node='{META}'" in event and "<item id='m2'>" in event and "from='alice@localhost'" in event, event
        assert "urn:example:unrelated" not in event + bob2.buf.decode(), event
        # A second resource with the same capabilities: no query, and the last item at once.
        bob3, _ = caps_client(server.c2s_port, "bob", "second", features, expect_query=False)
        last = bob3.read_until(rf"<message[^>]*>(?:(?!</message>).)*node='{META}'.*?</message>")
        assert "<item id='m2'>" in last, last
        assert "pep-caps-" not in last, last
        # A resource without capabilities (bob's first raw one) got no events at all.
        quiet = bob.iq("f4", "<ping xmlns='urn:xmpp:ping'/>", kind="get", to="localhost")
        assert "pubsub#event" not in quiet, quiet
        # Retraction reaches the interested resources.
        retract = alice.iq("f5", f"<pubsub xmlns='{PUBSUB}'><retract node='{META}' notify='true'><item id='m2'/>"
                                 "</retract></pubsub>")
        assert "type='result'" in retract, retract
        gone = bob2.read_until(r"<retract id='m2'/>")
        assert f"node='{META}'" in gone, gone
        missing = alice.iq("f6", f"<pubsub xmlns='{PUBSUB}'><retract node='{META}'><item id='m2'/></retract></pubsub>")
        assert "item-not-found" in missing, missing

        # Bookmarks (XEP-0402 §3): whitelist, as many items as bookmarks, never sent on presence.
        options = (field("pubsub#persist_items", "true") + field("pubsub#max_items", "max") +
                   field("pubsub#send_last_published_item", "never") + field("pubsub#access_model", "whitelist"))
        for ident, room in (("b1", "team@conference.localhost"), ("b2", "ops@conference.localhost")):
            answer = publish(alice, ident, BOOKMARKS, room,
                             f"<conference xmlns='{BOOKMARKS}' name='{room[:3]}' autojoin='true'><nick>al</nick>"
                             "</conference>", options)
            assert "type='result'" in answer, answer
        marks = alice.iq("b3", f"<pubsub xmlns='{PUBSUB}'><items node='{BOOKMARKS}'/></pubsub>", kind="get")
        assert marks.index("team@conference") < marks.index("ops@conference"), marks
        closed = bob.iq("b4", f"<pubsub xmlns='{PUBSUB}'><items node='{BOOKMARKS}'/></pubsub>", kind="get",
                        to="alice@localhost")
        assert "not-allowed" in closed and "closed-node" in closed and "team@" not in closed, closed
        conflict = publish(alice, "b5", BOOKMARKS, "x@conference.localhost", f"<conference xmlns='{BOOKMARKS}'/>",
                           field("pubsub#access_model", "open"))
        assert "<conflict " in conflict and "precondition-not-met" in conflict, conflict
        unknown = publish(alice, "b6", "urn:example:new", "1", "<x xmlns='urn:example:new'/>",
                          field("pubsub#frobnicate", "1"))
        assert "precondition-not-met" in unknown, unknown

        # OMEMO's device list (XEP-0384) is open: carol, a stranger, reads it.
        answer = publish(alice, "o1", DEVICES, "current",
                         "<list xmlns='eu.siacs.conversations.axolotl'><device id='12345'/></list>",
                         field("pubsub#access_model", "open"))
        assert "type='result'" in answer, answer
        devices = carol.iq("o2", f"<pubsub xmlns='{PUBSUB}'><items node='{DEVICES}'/></pubsub>", kind="get",
                           to="alice@localhost")
        assert "<device id='12345'/>" in devices, devices
        listed = carol.iq("o3", "<query xmlns='http://jabber.org/protocol/disco#items'/>", kind="get",
                          to="alice@localhost")
        assert f"node='{DEVICES}'" in listed and BOOKMARKS not in listed and META not in listed, listed
        listed = bob.iq("o4", "<query xmlns='http://jabber.org/protocol/disco#items'/>", kind="get",
                        to="alice@localhost")
        assert f"node='{META}'" in listed and BOOKMARKS not in listed, listed
        mine = alice.iq("o5", "<query xmlns='http://jabber.org/protocol/disco#items'/>", kind="get")
        assert f"node='{BOOKMARKS}'" in mine and f"node='{DEVICES}'" in mine, mine
        unsupported = bob.iq("o6", f"<pubsub xmlns='{PUBSUB}'><subscribe node='{META}' jid='bob@localhost'/></pubsub>",
                             to="alice@localhost")
        assert "feature-not-implemented" in unsupported and "feature='subscribe'" in unsupported, unsupported

        # Owner operations: configure, purge, delete (with a notification for bob's resource).
        form = alice.iq("c1", f"<pubsub xmlns='{OWNER}'><configure node='{BOOKMARKS}'/></pubsub>", kind="get")
        assert "<value>whitelist</value>" in form, form
        refused = bob.iq("c2", f"<pubsub xmlns='{OWNER}'><configure node='{META}'/></pubsub>", kind="get",
                         to="alice@localhost")
        assert "forbidden" in refused, refused
        publish(alice, "c3", META, "m3", f"<metadata xmlns='{META}'/>")
        bob2.read_until(r"<item id='m3'>")
        deleted = alice.iq("c4", f"<pubsub xmlns='{OWNER}'><delete node='{META}'/></pubsub>")
        assert "type='result'" in deleted, deleted
        bob2.read_until(rf"<delete node='{META}'/>")
        after = bob.iq("c5", f"<pubsub xmlns='{PUBSUB}'><items node='{META}'/></pubsub>", kind="get",
                       to="alice@localhost")
        assert "item-not-found" in after, after

        # Restart: the nodes, their items and configuration are still there.
        for c in (alice, bob, bob2, bob3, carol):
            c.sock.close()
        server.stop()
        server.start()
        alice = login(server.c2s_port, "alice", resource="raw")
        carol = login(server.c2s_port, "carol", resource="raw")
        marks = alice.iq("r1", f"<pubsub xmlns='{PUBSUB}'><items node='{BOOKMARKS}'/></pubsub>", kind="get")
        assert "team@conference" in marks and "ops@conference" in marks, marks
        data = alice.iq("r2", f"<pubsub xmlns='{PUBSUB}'><items node='urn:xmpp:avatar:data' max_items='1'/></pubsub>",
                        kind="get")
        assert base64.b64encode(image).decode()[:100] in data.replace("\n", ""), data[:300]
        devices = carol.iq("r3", f"<pubsub xmlns='{PUBSUB}'><items node='{DEVICES}'/></pubsub>", kind="get",
                           to="alice@localhost")
        assert "<device id='12345'/>" in devices, devices

        # The account goes, its nodes with it.
        gone = alice.iq("x1", "<query xmlns='jabber:iq:register'><remove/></query>")
        assert "type='result'" in gone, gone
        server.add_user("alice", "pw-alice")
        devices = carol.iq("x2", f"<pubsub xmlns='{PUBSUB}'><items node='{DEVICES}'/></pubsub>", kind="get",
                           to="alice@localhost")
        assert "item-not-found" in devices, devices


if __name__ == "__main__":
    harness.run(scenario)
