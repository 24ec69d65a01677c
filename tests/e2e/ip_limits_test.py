"""Per-address limits: connections past max_connections_per_ip get <policy-violation/>, and
once an address has used up max_auth_failures_per_ip, even a correct password is refused
(<temporary-auth-failure/>, then <policy-violation/>) while another client is unaffected."""

import harness
from rawxmpp import Raw


def scenario():
    extra = "max_connections_per_ip = 3\nmax_auth_failures_per_ip = 2"
    with harness.Server(tls="disabled", c2s_extra=extra) as server:
        server.add_user("dave", "dave-pw")
        held = [Raw(server.c2s_port) for _ in range(3)]
        for r in held:
            r.open()
        extra_conn = Raw(server.c2s_port)
        extra_conn.send("<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' "
                        "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
        extra_conn.expect_stream_error("policy-violation")
        for r in held:
            r.sock.close()

        # Slots are given back when connections close.
        import time
        deadline = time.time() + 5
        while True:
            r = Raw(server.c2s_port)
            try:
                r.open()
                break
            except AssertionError:
                assert time.time() < deadline, "connection slots were not released"
                time.sleep(0.2)

        # Two wrong passwords use up the address's budget; the right one is refused next.
        for _ in range(2):
            assert "<not-authorized/>" in r.scram_auth("dave", "wrong")
        r.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>"
               "biwsbj1kYXZlLHI9YWJjZGVmZ2g=</auth>")  # n,,n=dave,r=abcdefgh
        verdict = r.read_until(r"<failure.*?</failure>")
        assert "temporary-auth-failure" in verdict, verdict
        r.expect_stream_error("policy-violation")


if __name__ == "__main__":
    harness.run(scenario)
