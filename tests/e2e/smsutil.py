"""Helpers shared by the SMS gateway scenarios: the admin API, raw XMPP clients, and a check
that nothing arrived."""

import json
import re
import urllib.error
import urllib.request

from rawxmpp import Raw

DOMAIN = "sms.localhost"


class Api:
    """The admin REST API with a bearer token."""

    def __init__(self, server, token):
        self.base = f"http://127.0.0.1:{server.http_port}"
        self.token = token

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=20) as r:
                raw = r.read().decode()
                return r.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            raw = e.read().decode()
            return e.code, json.loads(raw) if raw else None

    def assign(self, user, number):
        """Gives `number` (as typed) on the SMS gateway to `user`; returns it in E.164."""
        status, body = self.call("POST", f"/api/v1/users/{user}/registrations", {"gateway": DOMAIN, "address": number})
        assert status == 201, (status, body)
        return body["address"]


def login(port, user, resource="phone"):
    """A raw client logged in as `user` (password "pw-" + user), available."""
    c = Raw(port)
    c.open()
    c.scram_login(user, "pw-" + user, resource=resource)
    c.send("<presence/>")
    return c


_pings = [0]


def quiet(client, forbidden, what):
    """Round-trips a ping and checks that nothing matching `forbidden` arrived meanwhile."""
    _pings[0] += 1
    ping = f"quiet{_pings[0]}"
    client.send(f"<iq type='get' id='{ping}' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
    text = client.read_until(rf"<iq[^>]*id='{ping}'[^>]*/>|<iq[^>]*id='{ping}'.*?</iq>")
    assert not re.search(forbidden, text), f"{what}: {text}"


def message_from(number):
    """A regex for a message stanza from `number`@sms.localhost, whatever its attribute order."""
    return rf"<message(?=[^>]*from='{re.escape(number)}@{re.escape(DOMAIN)}')[^>]*>.*?</message>"
