// A scenario for Parley's end-to-end tests, played by xmpp.js (@xmpp/client), a client library
// independent of ours and of slixmpp. Run by tests/e2e/xmppjs_test.py:
//
//   node client.mjs --port N --domain localhost --alice-password PW --bob-password PW
//
// It only gathers what it sees; the Python test asserts on it. On success it prints one JSON
// line with the results; on failure (a wait or a request that timed out, an iq error, a
// connection lost) it prints the reason on stderr and exits with 1. Every wait is bounded.

import { readFileSync } from 'node:fs';
import { client, xml } from '@xmpp/client';

const args = {};
for (let i = 2; i + 1 < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const DOMAIN = args.domain || 'localhost';
const WAIT_MS = 10000;

const NS = {
  roster: 'jabber:iq:roster', sid: 'urn:xmpp:sid:0', carbons: 'urn:xmpp:carbons:2', forward: 'urn:xmpp:forward:0',
  mam: 'urn:xmpp:mam:2', data: 'jabber:x:data', pubsub: 'http://jabber.org/protocol/pubsub',
  omemo: 'eu.siacs.conversations.axolotl', blocking: 'urn:xmpp:blocking',
  info: 'http://jabber.org/protocol/disco#info', sm: 'urn:xmpp:sm:3', streams: 'http://etherx.jabber.org/streams',
};
const DEVICES = 'eu.siacs.conversations.axolotl.devicelist';
const errors = []; // everything xmpp.js reports as an error, and connections lost on their own

// Logs in and returns the client with `inbox` (every stanza received), `features` (the names of
// each <stream:features/> child, stream by stream) and `login` (what SASL and TLS it used).
async function login(user, password, resource) {
  const c = client({ service: `xmpp://127.0.0.1:${args.port}`, domain: DOMAIN, resource, timeout: WAIT_MS,
    // The mechanism xmpp.js picks by itself (its first, strongest, one after TLS), recorded.
    credentials: async (authenticate, mechanisms) => {
      c.login.usable = mechanisms;
      c.login.mechanism = mechanisms[0];
      await authenticate({ username: user, password }, mechanisms[0]);
    } });
  c.reconnect.stop(); // a lost connection must show up, not be mended silently
  c.name = `${user}/${resource}`;
  c.login = {};
  c.inbox = [];
  c.features = [];
  c.on('error', (e) => errors.push(`${c.name}: ${e.condition || ''} ${e.message}`));
  c.on('disconnect', () => { if (!c.stopping) errors.push(`${c.name}: disconnected by the server`); });
  // Stream management is on. xmpp.js 0.14.0 does not count the iq replies its iq caller
  // consumes in its 'h', so it acknowledges too little for ever; parleyd used to answer each
  // such <a/> with another <r/>, an endless <r/>/<a/> exchange. The <r/>s are counted.
  c.requests = 0;
  c.prependListener('element', (el) => {
    if (el.is('r', NS.sm)) c.requests += 1;
    if (el.is('enabled', NS.sm)) c.smEnabled = true; // the server's answer to xmpp.js's <enable/>
    if (el.is('features', NS.streams)) c.features.push(el.children.map((f) => f.name));
  });
  c.on('stanza', (st) => c.inbox.push(st));
  // Whether the server closed the stream (its </stream:stream>). Not from what stop() returns:
  // when that tag arrives before xmpp.js's own write has completed (parleyd answers within a
  // fraction of a millisecond), stop() misses it and returns undefined.
  c.on('open', () => c.parser.once('end', () => { c.serverClosed = true; }));
  // Pushes from the server (roster, block list) are answered with a result, as clients do.
  c.iqCallee.set(NS.roster, 'query', () => true);
  c.iqCallee.set(NS.blocking, 'block', () => true);
  const bound = await within(c.start(), `${c.name} to log in`);
  c.login.jid = bound.toString();
  c.login.secure = c.isSecure();
  return c;
}

function within(promise, what, ms = WAIT_MS) {
  let timer;
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// The first stanza received (before or after this call) that `match` accepts.
function waitFor(c, what, match) {
  const seen = c.inbox.find(match);
  if (seen) return Promise.resolve(seen);
  return within(new Promise((resolve) => {
    const on = (st) => { if (match(st)) { c.removeListener('stanza', on); resolve(st); } };
    c.on('stanza', on);
  }), `${c.name} to get ${what}; it got:\n${c.inbox.slice(-10).map(String).join('\n')}`);
}

const bare = (j) => (j || '').split('/')[0];
const presenceFrom = (from, type) => (st) => st.is('presence') && bare(st.attrs.from) === from && st.attrs.type === type;
const iq = (c, type, child, to) => within(c.iqCaller.request(xml('iq', { type, to }, child), WAIT_MS), `${c.name}'s iq ${child.name}`);
const rosterItems = (query) => query.getChildren('item').map((i) => ({ jid: i.attrs.jid, subscription: i.attrs.subscription }));
const form = (type, fields) => xml('x', { xmlns: NS.data, type },
  Object.entries(fields).map(([v, value]) => xml('field', { var: v, ...(v === 'FORM_TYPE' && { type: 'hidden' }) }, xml('value', {}, value))));
const roster = async (c) => rosterItems((await iq(c, 'get', xml('query', { xmlns: NS.roster }))).getChild('query', NS.roster));

async function main() {
  const out = { xmppjs: JSON.parse(readFileSync(new URL('./node_modules/@xmpp/client/package.json', import.meta.url))).version };
  const alice = await login('alice', args['alice-password'], 'phone');
  const bob = await login('bob', args['bob-password'], 'laptop');
  const A = `alice@${DOMAIN}`, B = `bob@${DOMAIN}`;

  // 1. Roster, initial presence.
  out.roster_before = { alice: await roster(alice), bob: await roster(bob) };
  await alice.send(xml('presence'));
  await bob.send(xml('presence'));

  // 2. Subscriptions both ways; then each sees the other online.
  out.subscribe = {};
  for (const [asker, askerJid, answerer, answererJid] of [[alice, A, bob, B], [bob, B, alice, A]]) {
    await asker.send(xml('presence', { to: answererJid, type: 'subscribe' }));
    const ask = await waitFor(answerer, `a subscription request from ${askerJid}`, presenceFrom(askerJid, 'subscribe'));
    await answerer.send(xml('presence', { to: askerJid, type: 'subscribed' }));
    const ok = await waitFor(asker, `the approval of ${answererJid}`, presenceFrom(answererJid, 'subscribed'));
    out.subscribe[askerJid] = { request_from: ask.attrs.from, approval_from: ok.attrs.from };
  }
  out.presence = {
    alice_sees: (await waitFor(alice, "bob's presence", presenceFrom(B, undefined))).attrs.from,
    bob_sees: (await waitFor(bob, "alice's presence", presenceFrom(A, undefined))).attrs.from,
  };
  out.roster_after = { alice: await roster(alice), bob: await roster(bob) };

  // 3. A second resource of bob's enables carbons; alice writes to bob's first resource.
  const bob2 = await login('bob', args['bob-password'], 'tablet');
  await bob2.send(xml('presence'));
  await iq(bob2, 'set', xml('enable', { xmlns: NS.carbons }));
  await alice.send(xml('message', { to: `${B}/laptop`, type: 'chat', id: 'm1' }, xml('body', {}, 'Hello from xmpp.js')));
  const got = await waitFor(bob, "alice's message", (st) => st.is('message') && st.getChildText('body') === 'Hello from xmpp.js');
  const sid = got.getChild('stanza-id', NS.sid);
  out.message = { from: got.attrs.from, id: got.attrs.id, stanza_id: sid && { by: sid.attrs.by, id: sid.attrs.id } };
  const carbon = await waitFor(bob2, 'a carbon of the message', (st) => st.is('message') && st.getChild('received', NS.carbons));
  const copied = carbon.getChild('received', NS.carbons)?.getChild('forwarded', NS.forward)?.getChild('message');
  out.carbon = { from: carbon.attrs.from, inner_from: copied?.attrs.from, inner_to: copied?.attrs.to, body: copied?.getChildText('body') };

  // 4. bob's archive has the message, under the id he got with it.
  const fin = await iq(bob, 'set', xml('query', { xmlns: NS.mam, queryid: 'q1' }, form('submit', { FORM_TYPE: NS.mam, with: A })));
  out.mam = {
    complete: fin.getChild('fin', NS.mam)?.attrs.complete,
    results: bob.inbox.map((st) => st.getChild('result', NS.mam)).filter((r) => r && r.attrs.queryid === 'q1').map((r) => {
      const m = r.getChild('forwarded', NS.forward)?.getChild('message');
      return { id: r.attrs.id, from: m?.attrs.from, body: m?.getChildText('body') };
    }),
  };

  // 5. PEP: alice publishes an OMEMO device list that anyone may read; bob reads it.
  const published = await iq(alice, 'set', xml('pubsub', { xmlns: NS.pubsub },
    xml('publish', { node: DEVICES }, xml('item', { id: 'current' }, xml('list', { xmlns: NS.omemo }, xml('device', { id: '4711' })))),
    xml('publish-options', {}, form('submit', { FORM_TYPE: `${NS.pubsub}#publish-options`, 'pubsub#access_model': 'open' }))));
  const items = (await iq(bob, 'get', xml('pubsub', { xmlns: NS.pubsub }, xml('items', { node: DEVICES })), A))
    .getChild('pubsub', NS.pubsub)?.getChild('items');
  out.pep = {
    published: published.getChild('pubsub', NS.pubsub)?.getChild('publish')?.getChild('item')?.attrs.id,
    node: items?.attrs.node,
    items: (items?.getChildren('item') || []).map((i) => ({
      id: i.attrs.id, devices: (i.getChild('list', NS.omemo)?.getChildren('device') || []).map((d) => d.attrs.id),
    })),
  };

  // 6. Blocking: bob blocks carol; his list says so, his other resource gets the push.
  await iq(bob, 'set', xml('block', { xmlns: NS.blocking }, xml('item', { jid: `carol@${DOMAIN}` })));
  const list = (await iq(bob, 'get', xml('blocklist', { xmlns: NS.blocking }))).getChild('blocklist', NS.blocking);
  const push = await waitFor(bob2, 'the block push', (st) => st.is('iq') && st.attrs.type === 'set' && st.getChild('block', NS.blocking));
  out.blocking = {
    list: list.getChildren('item').map((i) => i.attrs.jid),
    push: push.getChild('block', NS.blocking).getChildren('item').map((i) => i.attrs.jid),
  };

  // 7. Service discovery of the server and of alice's account.
  const info = async (c, to) => {
    const q = (await iq(c, 'get', xml('query', { xmlns: NS.info }), to)).getChild('query', NS.info);
    return { identities: q.getChildren('identity').map((i) => `${i.attrs.category}/${i.attrs.type}`),
      features: q.getChildren('feature').map((f) => f.attrs.var) };
  };
  out.disco = { server: await info(alice, DOMAIN), alice_account: await info(alice, A) };

  // 8. Clean logouts: bob sees alice go, and the server closes each stream in turn.
  out.logout = {};
  for (const c of [alice, bob2, bob]) {
    c.stopping = true;
    await within(c.stop(), `${c.name} to log out`);
    out.logout[c.name] = { status: c.status, server_closed_stream: c.serverClosed === true };
    if (c === alice) out.logout.bob_sees_alice_leave = (await waitFor(bob, "alice's unavailable presence", presenceFrom(A, 'unavailable'))).attrs.from;
  }

  out.login = { alice: alice.login, bob: bob.login, bob2: bob2.login };
  out.features = alice.features;
  out.sm = { enabled: [alice, bob, bob2].every((c) => c.smEnabled === true), requests: [alice.requests, bob.requests, bob2.requests] };
  out.errors = errors;
  return out;
}

setTimeout(() => { console.error('the scenario took longer than 90 s'); process.exit(1); }, 90000).unref();
main().then((out) => {
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
}, (e) => {
  console.error(`xmpp.js scenario failed: ${e.stack || e}`);
  if (errors.length) console.error(`errors meanwhile:\n${errors.join('\n')}`);
  process.exit(1);
});
