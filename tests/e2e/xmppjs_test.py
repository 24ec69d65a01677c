"""Parley driven by a second, independent client library: xmpp.js (the npm package
@xmpp/client, tests/e2e/xmppjs_client/client.mjs). Node does the XMPP and reports what it
saw as one JSON line; this file asserts on it:
- alice and bob log in over STARTTLS (c2s tls "optional"; the certificate is self-signed, so
  node runs with NODE_TLS_REJECT_UNAUTHORIZED=0) with SCRAM-SHA-1, the strongest mechanism
  xmpp.js has, and bind their resources; empty rosters. The server offers stream management,
  which the client keeps off (see client.mjs: xmpp.js 0.14.0 miscounts its 'h');
- they subscribe to each other's presence, see each other online and end up with "both";
- alice's chat message reaches bob's first resource with <stanza-id by='bob@localhost'/>,
  and a carbon (urn:xmpp:carbons:2) reaches his second resource, which enabled carbons;
- bob's archive (urn:xmpp:mam:2) has the message under that id;
- alice publishes an OMEMO device list with publish-options access_model=open; bob reads it
  from her bare JID;
- bob blocks carol (urn:xmpp:blocking), reads his block list, and his other resource gets the
  push;
- disco#info: the server lists carbons and blocking; alice's account is pubsub/pep with MAM;
- all three log out cleanly (the server closes each stream; bob sees alice leave), and
  xmpp.js reported no error along the way.

Needs Node.js and npm (the client's package is installed with `npm ci` from its lock file into
the build tree, or PARLEY_XMPPJS_CLIENT_DIR); skipped (77) without them, like sms_smpp_test."""

import fcntl
import json
import os
import secrets
import shutil
import subprocess
import sys

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT_SOURCE = os.path.join(HERE, "xmppjs_client")
SCRIPT = "client.mjs"
ALICE, BOB = "alice@localhost", "bob@localhost"


def install_client():
    """The directory with the client script and its node_modules, installed once per lock
    file (as sms_smpp_test.install_peer does for the SMPP peer)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        print("skipped: Node.js and npm are needed for the xmpp.js client (apt install nodejs npm)")
        sys.exit(77)
    where = os.environ.get("PARLEY_XMPPJS_CLIENT_DIR") or os.path.join(os.getcwd(), "xmppjs_client")
    os.makedirs(where, exist_ok=True)
    with open(os.path.join(where, ".lock"), "w") as lock:
        # The SQLite and PostgreSQL runs of this test may install at the same time.
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(os.path.join(CLIENT_SOURCE, "package-lock.json"), "rb") as f:
            wanted = f.read()
        installed = os.path.join(where, "package-lock.json")
        current = None
        if (os.path.exists(os.path.join(where, "node_modules", "@xmpp", "client", "package.json"))
                and os.path.exists(installed)):
            with open(installed, "rb") as f:
                current = f.read()
        if current != wanted:
            for name in ("package.json", "package-lock.json"):
                shutil.copy(os.path.join(CLIENT_SOURCE, name), os.path.join(where, name))
            r = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=where,
                               capture_output=True, text=True, timeout=600)
            if r.returncode != 0:
                raise AssertionError(f"npm ci for the xmpp.js client failed:\n{r.stdout}\n{r.stderr}")
        # Replaced only when it changed: the other run may be starting it right now.
        script = os.path.join(where, SCRIPT)
        with open(os.path.join(CLIENT_SOURCE, SCRIPT), "rb") as f:
            source = f.read()
        if not os.path.exists(script) or open(script, "rb").read() != source:
            with open(script + ".new", "wb") as f:
                f.write(source)
            os.replace(script + ".new", script)
    return where


def run_client(where, port, passwords):
    # STARTTLS against parleyd's self-signed certificate: xmpp.js has no option to trust it.
    env = dict(os.environ, NODE_TLS_REJECT_UNAUTHORIZED="0")
    r = subprocess.run(["node", SCRIPT, "--port", str(port), "--domain", "localhost",
                        "--alice-password", passwords["alice"], "--bob-password", passwords["bob"]],
                       cwd=where, env=env, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError(f"the xmpp.js client failed ({r.returncode}):\n{r.stderr}\n{r.stdout}")
    lines = r.stdout.strip().splitlines()
    assert lines, f"the xmpp.js client printed nothing; stderr:\n{r.stderr}"
    return json.loads(lines[-1])


def scenario():
    where = install_client()
    passwords = {"alice": "pw-" + secrets.token_hex(4), "bob": "pw-" + secrets.token_hex(4)}
    with harness.Server(tls="optional") as server:
        for user, password in passwords.items():
            server.add_user(user, password)
        out = run_client(where, server.c2s_port, passwords)
    print(f"xmpp.js {out['xmppjs']}")
    show = json.dumps(out, indent=1)

    # 1. Login: STARTTLS first, then SCRAM-SHA-1, a bound resource, stream management.
    features = out["features"]
    assert len(features) == 3 and "starttls" in features[0] and "mechanisms" in features[1], features
    assert "bind" in features[2] and "sm" in features[2], features
    # Stream management on, with a client that acknowledges too little: a bounded number of
    # <r/> (one per burst of stanzas sent), not an endless <r/>/<a/> exchange.
    assert out["sm"]["enabled"] is True, out["sm"]
    assert all(0 < n < 100 for n in out["sm"]["requests"]), out["sm"]
    for name, resource in (("alice", "phone"), ("bob", "laptop"), ("bob2", "tablet")):
        login = out["login"][name]
        user = name.rstrip("2")
        assert login["jid"] == f"{user}@localhost/{resource}", login
        assert login["secure"] is True, login
        assert login["mechanism"] == "SCRAM-SHA-1" and "PLAIN" in login["usable"], login
    assert out["roster_before"] == {"alice": [], "bob": []}, show

    # 2. Subscriptions both ways, presence seen, rosters at "both".
    assert out["subscribe"][ALICE] == {"request_from": ALICE, "approval_from": BOB}, show
    assert out["subscribe"][BOB] == {"request_from": BOB, "approval_from": ALICE}, show
    assert out["presence"] == {"alice_sees": BOB + "/laptop", "bob_sees": ALICE + "/phone"}, show
    assert out["roster_after"] == {"alice": [{"jid": BOB, "subscription": "both"}],
                                   "bob": [{"jid": ALICE, "subscription": "both"}]}, show

    # 3. The message with its stanza id, and the carbon on bob's other resource.
    message = out["message"]
    assert message["from"] == ALICE + "/phone" and message["id"] == "m1", show
    assert message["stanza_id"] and message["stanza_id"]["by"] == BOB and message["stanza_id"]["id"], show
    assert out["carbon"] == {"from": BOB, "inner_from": ALICE + "/phone", "inner_to": BOB + "/laptop",
                             "body": "Hello from xmpp.js"}, show

    # 4. The archive has it under the same id.
    assert out["mam"]["complete"] == "true", show
    assert out["mam"]["results"] == [{"id": message["stanza_id"]["id"], "from": ALICE + "/phone",
                                      "body": "Hello from xmpp.js"}], show

    # 5. PEP: the device list, read by bob.
    assert out["pep"] == {"published": "current", "node": "eu.siacs.conversations.axolotl.devicelist",
                          "items": [{"id": "current", "devices": ["4711"]}]}, show

    # 6. Blocking.
    assert out["blocking"] == {"list": ["carol@localhost"], "push": ["carol@localhost"]}, show

    # 7. Service discovery.
    server_features = out["disco"]["server"]["features"]
    assert "urn:xmpp:carbons:2" in server_features and "urn:xmpp:blocking" in server_features, show
    account = out["disco"]["alice_account"]
    assert "pubsub/pep" in account["identities"] and "urn:xmpp:mam:2" in account["features"], show

    # 8. Clean logouts, and nothing xmpp.js complained about.
    for name in ("alice/phone", "bob/tablet", "bob/laptop"):
        assert out["logout"][name] == {"status": "offline", "server_closed_stream": True}, show
    assert out["logout"]["bob_sees_alice_leave"] == ALICE + "/phone", show
    assert out["errors"] == [], show


if __name__ == "__main__":
    harness.run(scenario)
