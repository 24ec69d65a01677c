"""Helpers for the multi-user chat scenarios (muc_*_test.py): slixmpp clients with the XEP-0045
and XEP-0249 plugins, and short forms of what the scenarios do with rooms."""

import asyncio

from slixmpp.exceptions import IqError, PresenceError
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

import xmpp

SERVICE = "conference.localhost"
MUC_USER = "http://jabber.org/protocol/muc#user"


def room(name):
    return f"{name}@{SERVICE}"


def client(server, user, password, resource="r"):
    """A logged-in client of user@localhost that speaks MUC."""
    c = xmpp.Client(f"{user}@localhost/{resource}", password)
    c.register_plugin("xep_0045")
    c.register_plugin("xep_0249")
    # slixmpp's "message" event is for messages with a body; subject changes, status codes,
    # invitations and declines have none: queue those too.
    c.register_handler(Callback("MUC body-less messages", MatchXPath("{jabber:client}message"),
                                lambda m: None if m["body"] else c.messages.put_nowait(m)))
    # Once a room has spoken, slixmpp stops raising "presence" for it (its roster ignores the
    # room): presences from rooms get a queue of their own.
    c.muc_presences = asyncio.Queue()
    c.register_handler(Callback("MUC presences", MatchXPath("{jabber:client}presence/{%s}x" % MUC_USER),
                                lambda p: c.muc_presences.put_nowait(p)))
    assert c.login(server.c2s_port), f"{user} could not log in"
    return c


def join(c, room_jid, nick, **options):
    """Enters the room; returns (self-presence, subject message, the other occupants' presences,
    history)."""
    pres, subject, occupants, history = xmpp.run(c["xep_0045"].join_muc_wait(room_jid, nick, timeout=15,
                                                                              **options), 20)
    others = [p for p in occupants if 110 not in p["muc"]["status_codes"]]
    return pres, subject, others, history


def join_error(c, room_jid, nick, **options):
    """Tries to enter the room; returns the error condition it is refused with."""
    try:
        join(c, room_jid, nick, **options)
    except PresenceError as e:
        return e.condition
    raise AssertionError(f"{c.boundjid} entered {room_jid} as {nick}, expected a refusal")


def iq_error(coro):
    """Runs an iq coroutine that must fail; returns the error condition."""
    try:
        xmpp.run(coro)
    except IqError as e:
        return e.iq["error"]["condition"]
    raise AssertionError("the iq succeeded, expected an error")


def create_instant(c, room_jid, nick):
    """Creates the room with the default configuration (XEP-0045 §10.1.2)."""
    pres, _, _, _ = join(c, room_jid, nick)
    codes = pres["muc"]["status_codes"]
    assert 110 in codes and 201 in codes, f"no 110 and 201 on creating {room_jid}: {pres}"
    form = c["xep_0004"].make_form(ftype="submit")
    xmpp.run(c["xep_0045"].set_room_config(room_jid, form))
    return pres


def create_reserved(c, room_jid, nick, **fields):
    """Creates the room and configures it with the muc#roomconfig form (XEP-0045 §10.1.3);
    `fields` are muc#roomconfig_<name>=value (muc#maxhistoryfetch as maxhistoryfetch)."""
    join(c, room_jid, nick)
    configure(c, room_jid, **fields)


def configure(c, room_jid, **fields):
    form = xmpp.run(c["xep_0045"].get_room_config(room_jid))
    submitted = c["xep_0004"].make_form(ftype="submit")
    present = set(form.get_fields())
    for name, value in fields.items():
        var = "muc#maxhistoryfetch" if name == "maxhistoryfetch" else f"muc#roomconfig_{name}"
        assert var in present, f"{var} is not in the configuration form"
        if isinstance(value, bool):
            value = "1" if value else "0"
        submitted.add_field(var=var, value=value)
    xmpp.run(c["xep_0045"].set_room_config(room_jid, submitted))


def leave(c, room_jid, nick):
    c["xep_0045"].leave_muc(room_jid, nick)


def next_presence_from(c, occupant_jid, predicate=lambda p: True, timeout=10):
    """The next presence from a room's occupant (muc#user presences only)."""
    async def get():
        while True:
            p = await c.muc_presences.get()
            if str(p["from"]) == occupant_jid and predicate(p):
                return p
    return xmpp.run(get(), timeout)


def status_codes(stanza):
    return set(stanza["muc"]["status_codes"])


def next_groupchat(c, timeout=10):
    """The next groupchat message with a body that is not history."""
    async def get():
        while True:
            m = await c.messages.get()
            if m["type"] == "groupchat" and m["body"] and not m.get_plugin("delay", check=True):
                return m
    return xmpp.run(get(), timeout)


def next_message_where(c, predicate, timeout=10):
    async def get():
        while True:
            m = await c.messages.get()
            if predicate(m):
                return m
    return xmpp.run(get(), timeout)


def drain(c, seconds=0.3):
    """Lets traffic settle, then forgets what was queued."""
    xmpp.pump(seconds)
    while not c.messages.empty():
        c.messages.get_nowait()
    while not c.presences.empty():
        c.presences.get_nowait()
    while not c.muc_presences.empty():
        c.muc_presences.get_nowait()


def disco_items(c, jid):
    info = xmpp.run(c["xep_0030"].get_items(jid=jid))
    return {str(item[0]): item[2] for item in info["disco_items"]["items"]}


def disco_info(c, jid):
    return xmpp.run(c["xep_0030"].get_info(jid=jid))["disco_info"]


def muc_user_x(stanza):
    """The <x xmlns='…muc#user'/> element of a stanza (an ElementTree element), or None."""
    return stanza.xml.find(f"{{{MUC_USER}}}x")


def roominfo(c, room_jid):
    """The fields of the muc#roominfo form in the room's disco#info, as {var: value}."""
    info = disco_info(c, room_jid)
    form = info.xml.find("{jabber:x:data}x")
    assert form is not None, f"no data form in the disco#info of {room_jid}"
    out = {}
    for field in form.findall("{jabber:x:data}field"):
        value = field.find("{jabber:x:data}value")
        out[field.get("var")] = (value.text or "") if value is not None else ""
    return out


def item_attr(stanza, name):
    """An attribute of the <item/> in the stanza's muc#user <x/>; None when absent."""
    x = muc_user_x(stanza)
    item = x.find("{%s}item" % MUC_USER) if x is not None else None
    return item.get(name) if item is not None else None
