"""Messages to an offline user are stored, survive a restart and a kill -9, and are delivered
in order with a XEP-0203 delay stamp at the next login; then they are gone."""

import harness
import xmpp


def scenario():
    server = harness.Server(tls="required")
    server.start()
    try:
        server.add_user("alice", "pw-a")
        server.add_user("bob", "pw-b")
        alice = xmpp.Client("alice@localhost/a", "pw-a")
        assert alice.login(server.c2s_port)
        for i in range(3):
            alice.send_message(mto="bob@localhost", mbody=f"offline {i}", mtype="chat")
        # Let the server commit before the first restart; then a ping proves it processed them.
        xmpp.run(alice["xep_0199"].ping("localhost", timeout=10))
        alice.close()
        assert server.stop() == 0

        server.start()
        alice = xmpp.Client("alice@localhost/a", "pw-a")
        assert alice.login(server.c2s_port)
        alice.send_message(mto="bob@localhost", mbody="offline 3", mtype="chat")
        xmpp.run(alice["xep_0199"].ping("localhost", timeout=10))
        alice.close()
        server.kill9()

        server.start()
        bob = xmpp.Client("bob@localhost/b", "pw-b")
        assert bob.login(server.c2s_port)
        got = [bob.next_message() for _ in range(4)]
        assert [m["body"] for m in got] == [f"offline {i}" for i in range(4)], [m["body"] for m in got]
        for m in got:
            assert str(m["from"]) == "alice@localhost/a"
            delay = m.xml.find("{urn:xmpp:delay}delay")
            assert delay is not None and delay.get("stamp"), "no XEP-0203 delay"
        bob.close()

        bob = xmpp.Client("bob@localhost/b", "pw-b")
        assert bob.login(server.c2s_port)
        assert bob.no_message(1.5), "offline messages delivered twice"
        bob.close()
        assert server.stop() == 0
    except BaseException:
        server.dump_log()
        raise
    finally:
        if server.proc is not None:
            server.stop()


if __name__ == "__main__":
    harness.run(scenario)
