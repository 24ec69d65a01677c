"""parleyctl manages users on the live database while parleyd runs, and when it does not:
add, list, passwd (the new password works, the old does not), del."""

import harness
from rawxmpp import Raw


def scenario():
    server = harness.Server(tls="disabled")
    # parleyd not running: the database is created by parleyctl itself
    server.add_user("erin", "one")
    r = server.ctl("user", "add", "frank@localhost", input_text="frank-pw\n")
    assert "created frank@localhost" in r.stdout, r.stdout
    assert server.ctl("user", "add", "erin", "--password", "x", check=False).returncode != 0, "duplicate accepted"
    assert server.ctl("user", "add", "x@elsewhere.example", "--password", "x", check=False).returncode != 0
    with server:
        assert server.ctl("user", "list").stdout.split() == ["erin", "frank"]
        c = Raw(server.c2s_port)
        c.open()
        assert c.scram_login("frank", "frank-pw") == "frank@localhost/raw"
        server.ctl("user", "passwd", "erin", "--password", "two")
        c = Raw(server.c2s_port)
        c.open()
        assert "<not-authorized/>" in c.scram_auth("erin", "one")
        c = Raw(server.c2s_port)
        c.open()
        assert c.scram_login("erin", "two") == "erin@localhost/raw"
        server.ctl("user", "del", "erin")
        assert server.ctl("user", "exists", "erin", check=False).returncode == 1
        assert server.ctl("user", "list").stdout.split() == ["frank"]


if __name__ == "__main__":
    harness.run(scenario)
