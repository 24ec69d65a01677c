// An SMSC for bench/run_sms.sh, on the server mode of the npm package `smpp` (the package
// tests/e2e/smpp_peer installs; run with NODE_PATH pointing at its node_modules).
//
//   node smpp_smsc.js --system-id ID --password PW --port N [--window W]
//
// Answers every submit_sm at once and counts them; injects deliver_sm as fast as the ESME
// acknowledges them, at most W unanswered (default 10). Commands come one JSON object a line
// on stdin, events go one JSON object a line to stdout; times are epoch seconds with
// sub-millisecond resolution, so the runner can compare them with its own clock.
//
//   {"cmd":"expect","id":K,"count":N}   reset the submit_sm counters; "reached" once N
//                                       distinct texts have come
//   {"cmd":"stats","id":K}              "stats": submits, distinct, duplicates, first/last
//   {"cmd":"inject","id":K,"count":N,"run":R,"source":"1555…","destination":"1555…"}
//                                       N deliver_sm with the texts "bench R 0" .. "bench R N-1";
//                                       "injected" once every one is answered

'use strict';

const readline = require('readline');
const smpp = require('smpp');

const args = {};
for (let i = 2; i + 1 < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}
const SYSTEM_ID = args['system-id'] || 'parley';
const PASSWORD = args.password || '';
const WINDOW = Math.max(1, Number(args.window || 10));

const now = () => (performance.timeOrigin + performance.now()) / 1000;

function emit(event, fields) {
  process.stdout.write(JSON.stringify(Object.assign({ event, at: now() }, fields || {})) + '\n');
}

let bound = null;
let nextMessageId = 0x100000;

// Outbound counters, reset by "expect".
let submits = 0;
let duplicates = 0;
let texts = new Set();
let firstSubmit = null;
let lastSubmit = null;
let target = 0;

// The injection under way, if any.
let injection = null;

function stats() {
  return { submits, distinct: texts.size, duplicates, first_at: firstSubmit, last_at: lastSubmit };
}

function pump() {
  const job = injection;
  if (!job || !bound) {
    return;
  }
  while (job.next < job.count && job.unanswered < WINDOW) {
    const i = job.next++;
    job.unanswered += 1;
    bound.deliver_sm({
      source_addr: job.source, source_addr_ton: 1, source_addr_npi: 1,
      destination_addr: job.destination, dest_addr_ton: 1, dest_addr_npi: 1,
      esm_class: 0, data_coding: 0, registered_delivery: 0,
      short_message: Buffer.from(`bench ${job.run} ${i}`),
    }, (resp) => {
      job.unanswered -= 1;
      if (resp.command_status === 0) {
        job.acked += 1;
      } else {
        job.failed += 1;
      }
      job.last_ack_at = now();
      if (job.acked + job.failed === job.count) {
        injection = null;
        emit('injected', {
          id: job.id, count: job.count, acked: job.acked, failed: job.failed,
          started_at: job.started_at, last_ack_at: job.last_ack_at,
        });
        return;
      }
      pump();
    });
  }
}

function onSession(session) {
  session.on('bind_transceiver', (pdu) => {
    const ok = pdu.system_id === SYSTEM_ID && pdu.password === PASSWORD;
    session.send(pdu.response({ command_status: ok ? 0 : smpp.ESME_RINVPASWD, system_id: 'bench-smsc' }));
    emit('bind', { status: ok ? 0 : smpp.ESME_RINVPASWD });
    if (ok) {
      bound = session;
      pump();
    }
  });
  session.on('submit_sm', (pdu) => {
    session.send(pdu.response({ message_id: (nextMessageId++).toString(16) }));
    const at = now();
    submits += 1;
    if (firstSubmit === null) {
      firstSubmit = at;
    }
    lastSubmit = at;
    const message = pdu.short_message || {};
    const text = typeof message.message === 'string' ? message.message : '';
    if (texts.has(text)) {
      duplicates += 1;
    } else {
      texts.add(text);
      if (target > 0 && texts.size === target) {
        emit('reached', stats());
      }
    }
  });
  session.on('enquire_link', (pdu) => session.send(pdu.response()));
  session.on('unbind', (pdu) => session.send(pdu.response()));
  session.on('error', (e) => emit('session_error', { message: String(e && e.message) }));
  session.on('close', () => {
    if (bound === session) {
      bound = null;
    }
    emit('close', {});
  });
}

const commands = {
  expect(command) {
    submits = 0;
    duplicates = 0;
    texts = new Set();
    firstSubmit = null;
    lastSubmit = null;
    target = command.count;
  },
  stats(command) {
    emit('stats', Object.assign({ id: command.id }, stats()));
  },
  inject(command) {
    injection = {
      id: command.id, count: command.count, run: command.run, source: command.source,
      destination: command.destination, next: 0, unanswered: 0, acked: 0, failed: 0,
      started_at: now(), last_ack_at: null,
    };
    pump();
  },
};

const server = smpp.createServer(onSession);
server.on('error', (e) => {
  emit('server_error', { message: String(e && e.message) });
  process.exit(1);
});
server.listen(Number(args.port || 0), '127.0.0.1', () => emit('listening', { port: server.address().port }));

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  let command;
  try {
    command = JSON.parse(line);
  } catch (e) {
    emit('bad_command', { line });
    return;
  }
  const run = commands[command.cmd];
  if (!run) {
    emit('bad_command', { line });
    return;
  }
  run(command);
  emit('done', { cmd: command.cmd, id: command.id });
});
