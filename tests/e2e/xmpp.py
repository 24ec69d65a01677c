"""A small synchronous-looking wrapper around slixmpp for end-to-end scenarios: each call runs
the asyncio loop until the awaited thing happens or a timeout passes (then it fails)."""

import asyncio
import logging
import ssl

import slixmpp

logging.getLogger("slixmpp").setLevel(logging.ERROR)

LOOP = asyncio.new_event_loop()
asyncio.set_event_loop(LOOP)


def run(coro, timeout=20):
    return LOOP.run_until_complete(asyncio.wait_for(coro, timeout))


class Client(slixmpp.ClientXMPP):
    """One logged-in resource. Messages and presences it receives queue up for the test."""

    def __init__(self, jid, password, mech=None, initial_presence=True, priority=None):
        kwargs = {"sasl_mech": mech} if mech else {}
        super().__init__(jid, password, **kwargs)
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        self.messages = asyncio.Queue()
        self.presences = asyncio.Queue()
        self.session_started = asyncio.Event()
        self.failed = asyncio.Event()
        self.disconnected_event = asyncio.Event()
        self.initial_presence = initial_presence
        self.priority = priority
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0199")
        self.add_event_handler("session_start", self._on_start)
        self.add_event_handler("message", lambda m: self.messages.put_nowait(m))
        self.add_event_handler("presence", lambda p: self.presences.put_nowait(p))
        self.add_event_handler("failed_all_auth", lambda *_: self.failed.set())
        self.add_event_handler("disconnected", lambda *_: self.disconnected_event.set())
        # Neither accept nor deny subscription requests: the tests decide (None = manual).
        self.roster.auto_authorize = None
        self.roster.auto_subscribe = False

    async def _on_start(self, _):
        if self.initial_presence:
            if self.priority is not None:
                self.send_presence(ppriority=self.priority)
            else:
                self.send_presence()
        self.session_started.set()

    def login(self, port, direct_tls=False, timeout=20):
        if direct_tls:
            self.enable_direct_tls = True
        self.connect(("127.0.0.1", port), use_ssl=direct_tls)

        async def wait():
            done, _ = await asyncio.wait(
                [asyncio.ensure_future(self.session_started.wait()), asyncio.ensure_future(self.failed.wait()),
                 asyncio.ensure_future(self.disconnected_event.wait())],
                return_when=asyncio.FIRST_COMPLETED)
            for d in done:
                d.result()
        run(wait(), timeout)
        return self.session_started.is_set()

    def next_message(self, timeout=10, with_body=True):
        async def get():
            while True:
                m = await self.messages.get()
                if not with_body or m["body"] or m["type"] == "error":
                    return m
        return run(get(), timeout)

    def no_message(self, wait=1.0):
        """True when no message with a body arrives within `wait` seconds."""
        async def get():
            await asyncio.sleep(wait)
            while not self.messages.empty():
                m = self.messages.get_nowait()
                if m["body"]:
                    return False
            return True
        return run(get(), wait + 5)

    def next_presence(self, predicate=lambda p: True, timeout=10):
        async def get():
            while True:
                p = await self.presences.get()
                if predicate(p):
                    return p
        return run(get(), timeout)

    def roster_items(self):
        async def get():
            iq = self.Iq(stype="get")
            iq.enable("roster")
            result = await iq.send(timeout=10)
            return {str(jid): item for jid, item in result["roster"]["items"].items()}
        return run(get())

    def iq(self, iq, timeout=10):
        return run(iq.send(timeout=timeout), timeout + 5)

    def close(self):
        self.disconnect()
        run(self.disconnected_event.wait(), 10)


def pump(seconds=0.3):
    """Lets every slixmpp client send and receive for a while (their I/O runs only while the
    asyncio loop does)."""
    run(asyncio.sleep(seconds), seconds + 5)
