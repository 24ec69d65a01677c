"""OMEMO's use of personal eventing (XEP-0384 in the eu.siacs.conversations.axolotl namespace
that Conversations speaks), with slixmpp's XEP-0060 and XEP-0163 plugins:
- alice publishes her device list and a bundle with publish-options pubsub#access_model=open,
  item id "current", as Conversations does;
- bob, not in her roster, fetches the bundle by node and by item id; a bundle published
  without publish-options (access model presence) is refused to him;
- bob subscribes to her presence; his client announces "+notify" for the device list in its
  entity capabilities (XEP-0115), and her next device list reaches him as an event;
- republishing the bundle with the same options replaces it; with a conflicting access model
  it is refused with precondition-not-met and the stored bundle stays as it was;
- after a restart carol, a stranger, still fetches the bundle and the device list."""

import asyncio
import xml.etree.ElementTree as ET

from slixmpp.exceptions import IqError

import harness
import xmpp

PUBSUB = "http://jabber.org/protocol/pubsub"
PUBSUB_ERRORS = "http://jabber.org/protocol/pubsub#errors"
AXOLOTL = "eu.siacs.conversations.axolotl"
DEVICES = AXOLOTL + ".devicelist"
DEVICE = 1001
OLD_DEVICE = 7007  # published by a client that sends no publish-options
NEW_DEVICE = 2002


def bundles(device):
    return f"{AXOLOTL}.bundles:{device}"


def client(server, user, interests=()):
    c = xmpp.Client(f"{user}@localhost/slix", "pw-" + user)
    for plugin in ("xep_0004", "xep_0060", "xep_0115", "xep_0163"):
        c.register_plugin(plugin)
    c.events = asyncio.Queue()
    c.add_event_handler("pubsub_publish", lambda m: c.events.put_nowait(m))
    assert c.login(server.c2s_port), f"{user} could not log in"
    if interests:
        for ns in interests:
            c["xep_0163"].add_interest(ns)
        # A presence with the new capabilities hash; the server asks for the features behind it.
        xmpp.run(c["xep_0115"].update_caps(broadcast=True))
        xmpp.pump(1.0)
    return c


def access_options(c, access_model="open"):
    """publish-options as Conversations sends them (XEP-0060 §7.1.5)."""
    form = c["xep_0004"].make_form(ftype="submit")
    form.add_field(var="FORM_TYPE", ftype="hidden", value=PUBSUB + "#publish-options")
    form.add_field(var="pubsub#access_model", value=access_model)
    return form


def device_list(*ids):
    return ET.fromstring(f"<list xmlns='{AXOLOTL}'>" + "".join(f"<device id='{i}'/>" for i in ids) + "</list>")


def bundle(identity, prekeys):
    keys = "".join(f"<preKeyPublic preKeyId='{n}'>BQ{identity}{n:04d}</preKeyPublic>" for n in prekeys)
    return ET.fromstring(
        f"<bundle xmlns='{AXOLOTL}'><signedPreKeyPublic signedPreKeyId='1'>BSpk{identity}</signedPreKeyPublic>"
        f"<signedPreKeySignature>sig{identity}</signedPreKeySignature><identityKey>BIk{identity}</identityKey>"
        f"<prekeys>{keys}</prekeys></bundle>")


class _Payload:
    """What xep_0163.publish() wants: something with an .xml element."""

    def __init__(self, xml):
        self.xml = xml
        self.namespace = xml.tag[1:].split("}")[0]


def publish(c, node, payload, options=None):
    answer = xmpp.run(c["xep_0163"].publish(_Payload(payload), node=node, id="current", options=options, timeout=10))
    assert answer["type"] == "result", answer
    assert answer["pubsub"]["publish"]["item"]["id"] == "current", answer
    return answer


def items(c, node, item_ids=None, owner="alice@localhost"):
    """The items of `node` as [(id, payload element)]."""
    try:
        answer = xmpp.run(c["xep_0060"].get_items(owner, node, item_ids=item_ids, timeout=10))
    except IqError as e:
        raise AssertionError(f"{c.boundjid} cannot read {node}: {e.iq}")
    assert answer["type"] == "result" and answer["pubsub"]["items"]["node"] == node, answer
    return [(i["id"], i["payload"]) for i in answer["pubsub"]["items"]]


def identity_of(payload):
    return payload.find(f"{{{AXOLOTL}}}identityKey").text


def prekey_ids(payload):
    return [k.get("preKeyId") for k in payload.iter(f"{{{AXOLOTL}}}preKeyPublic")]


def devices_in(payload):
    return sorted(int(d.get("id")) for d in payload.iter(f"{{{AXOLOTL}}}device"))


def refused(coro):
    """The error condition and pubsub-specific condition of an iq that must fail."""
    try:
        answer = xmpp.run(coro)
    except IqError as e:
        specific = [el.tag for el in e.iq["error"].xml if el.tag.startswith(f"{{{PUBSUB_ERRORS}}}")]
        return e.iq["error"]["condition"], specific
    raise AssertionError(f"expected an error, got {answer}")


def next_devicelist(c, wanted):
    """Waits for a device-list event from alice that lists `wanted`; returns its devices."""
    async def get():
        while True:
            m = await c.events.get()
            event = m["pubsub_event"]["items"]
            if event["node"] != DEVICES or m["from"] != "alice@localhost":
                continue
            for item in event:
                got = devices_in(item["payload"])
                if wanted in got:
                    return item["id"], got
    try:
        return xmpp.run(get(), 10)
    except asyncio.TimeoutError:
        raise AssertionError(f"{c.boundjid} got no device list with {wanted} from alice")


def scenario():
    with harness.Server(tls="optional") as server:
        for user in ("alice", "bob", "carol"):
            server.add_user(user, "pw-" + user)
        alice = client(server, "alice")
        bob = client(server, "bob", interests=[DEVICES])

        # Conversations' start-up: the device list, then the bundle, both open.
        publish(alice, DEVICES, device_list(DEVICE), access_options(alice))
        publish(alice, bundles(DEVICE), bundle("A", range(1, 4)), access_options(alice))
        # An older client's bundle, published without options: the default access model.
        publish(alice, bundles(OLD_DEVICE), bundle("Old", [1]))

        # bob is not in alice's roster: the open bundle is his to fetch, by node and by id.
        assert alice.roster_items() == {}, alice.roster_items()
        [(item_id, payload)] = items(bob, bundles(DEVICE))
        assert item_id == "current" and identity_of(payload) == "BIkA", (item_id, ET.tostring(payload))
        assert prekey_ids(payload) == ["1", "2", "3"], ET.tostring(payload)
        answer = xmpp.run(bob["xep_0060"].get_item("alice@localhost", bundles(DEVICE), "current", timeout=10))
        [item] = list(answer["pubsub"]["items"])
        assert item["id"] == "current" and identity_of(item["payload"]) == "BIkA", answer
        assert refused(bob["xep_0060"].get_item("alice@localhost", bundles(DEVICE), "nope", timeout=10))[0] == \
            "item-not-found"
        [(_, payload)] = items(bob, DEVICES)
        assert devices_in(payload) == [DEVICE], ET.tostring(payload)
        condition, specific = refused(bob["xep_0060"].get_items("alice@localhost", bundles(OLD_DEVICE), timeout=10))
        assert condition == "not-authorized" and specific == [f"{{{PUBSUB_ERRORS}}}presence-subscription-required"], \
            (condition, specific)

        # bob subscribes to alice's presence; his caps say +notify for the device list.
        bob.send_presence_subscription(pto="alice@localhost")
        alice.next_presence(lambda p: p["type"] == "subscribe")
        alice.send_presence(pto="bob@localhost", ptype="subscribed")
        bob.next_presence(lambda p: p["type"] == "subscribed")
        xmpp.pump(0.5)
        publish(alice, DEVICES, device_list(DEVICE, NEW_DEVICE), access_options(alice))
        item_id, got = next_devicelist(bob, NEW_DEVICE)
        assert item_id == "current" and got == [DEVICE, NEW_DEVICE], (item_id, got)
        # Subscribed now, bob reads the presence-model bundle too.
        [(_, payload)] = items(bob, bundles(OLD_DEVICE))
        assert identity_of(payload) == "BIkOld", ET.tostring(payload)

        # Republishing with the same options (every start of Conversations) replaces the item.
        publish(alice, bundles(DEVICE), bundle("A", range(4, 6)), access_options(alice))
        [(item_id, payload)] = items(bob, bundles(DEVICE))
        assert item_id == "current" and prekey_ids(payload) == ["4", "5"], ET.tostring(payload)
        # A conflicting option: precondition-not-met (XEP-0060 §7.1.5), nothing stored.
        condition, specific = refused(alice["xep_0163"].publish(
            _Payload(bundle("Evil", [9])), node=bundles(DEVICE), id="current",
            options=access_options(alice, "presence"), timeout=10))
        assert condition == "conflict" and specific == [f"{{{PUBSUB_ERRORS}}}precondition-not-met"], \
            (condition, specific)
        [(_, payload)] = items(bob, bundles(DEVICE))
        assert identity_of(payload) == "BIkA" and prekey_ids(payload) == ["4", "5"], ET.tostring(payload)

        # After a restart: the bundle and the device list, still open to a stranger.
        alice.close()
        bob.close()
        server.stop()
        server.start()
        carol = client(server, "carol")
        [(item_id, payload)] = items(carol, bundles(DEVICE), item_ids=["current"])
        assert item_id == "current" and identity_of(payload) == "BIkA", ET.tostring(payload)
        assert prekey_ids(payload) == ["4", "5"], ET.tostring(payload)
        [(_, payload)] = items(carol, DEVICES)
        assert devices_in(payload) == [DEVICE, NEW_DEVICE], ET.tostring(payload)
        condition, _ = refused(carol["xep_0060"].get_items("alice@localhost", bundles(OLD_DEVICE), timeout=10))
        assert condition == "not-authorized", condition
        carol.close()


if __name__ == "__main__":
    harness.run(scenario)
