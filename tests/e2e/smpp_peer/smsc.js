// An SMSC for the end-to-end tests of the SMS gateway's smpp provider, built on the server
// mode of the npm package `smpp` (an SMPP 3.4 implementation independent of ours).
//
//   node smsc.js --system-id ID --password PW [--port N]
//
// Prints one JSON object per line on stdout for everything that happens ({"event": ...}),
// the first being {"event":"listening","port":N}. Reads commands, one JSON object per line,
// on stdin ({"cmd": ...}); see `commands` below. Like a real SMSC, it keeps every deliver_sm
// until an ESME acknowledges it: unanswered ones go again on the next bind, ones answered
// with a transient error again after a pause; a permanent error ends them.

'use strict';

const readline = require('readline');
const smpp = require('smpp');

const args = {};
for (let i = 2; i + 1 < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}
const SYSTEM_ID = args['system-id'] || 'parley';
const PASSWORD = args['password'] || '';
const RETRY_MS = 500;
const TRANSIENT = new Set([0x08, 0x14, 0x58, 0x64]); // RSYSERR, RMSGQFUL, RTHROTTLED, RX_T_APPN

function emit(event, fields) {
  process.stdout.write(JSON.stringify(Object.assign({ event, at: Date.now() / 1000 }, fields || {})) + '\n');
}

let bound = null; // the bound transceiver session
let refuseBinds = 0; // binds still to refuse with ESME_RBINDFAIL
let holdSubmits = false; // keep submit_sm_resp back until release_submits
const heldResponses = [];
let receiptNext = null; // {tag, stat}: a receipt sent right behind the next submit_sm_resp
let nextMessageId = 0x1000;
const submitReplies = []; // statuses for the next submit_sm, then ESME_ROK
const pending = []; // deliver_sm waiting to be sent: {tag, options}
let inFlight = new Map(); // tag -> {tag, options} sent, not yet answered

function hex(buffer) {
  return Buffer.isBuffer(buffer) ? buffer.toString('hex') : '';
}

function flush() {
  while (bound && pending.length > 0) {
    const item = pending.shift();
    sendDeliver(bound, item);
  }
}

function sendDeliver(session, item) {
  inFlight.set(item.tag, item);
  // A fresh copy: the package rewrites the options it encodes.
  const options = Object.assign({}, item.options);
  if (options.short_message_hex !== undefined) {
    options.short_message = Buffer.from(options.short_message_hex, 'hex');
    delete options.short_message_hex;
  }
  session.deliver_sm(options, (resp) => {
    if (!inFlight.has(item.tag) || session !== bound) {
      return;
    }
    inFlight.delete(item.tag);
    const status = resp.command_status;
    emit('deliver_sm_resp', { tag: item.tag, status, attempt: item.attempt });
    if (TRANSIENT.has(status)) {
      item.attempt += 1;
      setTimeout(() => {
        pending.push(item);
        flush();
      }, RETRY_MS);
    }
  });
}

function onSession(session) {
  emit('connect', {});
  const peer = session;
  peer.on('bind_transceiver', (pdu) => {
    const credentials = pdu.system_id === SYSTEM_ID && pdu.password === PASSWORD;
    const refused = credentials && refuseBinds > 0;
    if (refused) {
      refuseBinds -= 1;
    }
    const ok = credentials && !refused;
    const status = ok ? 0
      : refused ? smpp.ESME_RBINDFAIL
        : (pdu.system_id === SYSTEM_ID ? smpp.ESME_RINVPASWD : smpp.ESME_RINVSYSID);
    emit('bind', {
      system_id: pdu.system_id, password: pdu.password, system_type: pdu.system_type,
      interface_version: pdu.interface_version, status,
    });
    peer.send(pdu.response({ command_status: status, system_id: 'test-smsc' }));
    if (ok) {
      bound = peer;
      flush();
    }
  });
  for (const other of ['bind_transmitter', 'bind_receiver']) {
    peer.on(other, (pdu) => {
      emit('bind', { command: other, system_id: pdu.system_id, status: smpp.ESME_RINVCMDID });
      peer.send(pdu.response({ command_status: smpp.ESME_RINVCMDID }));
    });
  }
  peer.on('submit_sm', (pdu) => {
    const status = submitReplies.length > 0 ? submitReplies.shift() : 0;
    const message = pdu.short_message || {};
    const udh = Array.isArray(message.udh) ? Buffer.concat(message.udh) : null;
    const messageId = status === 0 ? (nextMessageId++).toString(16) : '';
    emit('submit_sm', {
      sequence: pdu.sequence_number,
      source_addr: pdu.source_addr, source_addr_ton: pdu.source_addr_ton, source_addr_npi: pdu.source_addr_npi,
      destination_addr: pdu.destination_addr, dest_addr_ton: pdu.dest_addr_ton, dest_addr_npi: pdu.dest_addr_npi,
      esm_class: pdu.esm_class, data_coding: pdu.data_coding, registered_delivery: pdu.registered_delivery,
      udh: udh ? udh.toString('hex') : null,
      text: typeof message.message === 'string' ? message.message : null,
      status, message_id: messageId,
    });
    const response = status !== 0 ? pdu.response({ command_status: status }) : pdu.response({ message_id: messageId });
    if (holdSubmits) {
      heldResponses.push({ peer, response });
    } else {
      peer.send(response);
    }
    if (status === 0 && receiptNext) {
      // In the same tick as the response: the receipt races the ESME's own bookkeeping.
      const { tag, stat } = receiptNext;
      receiptNext = null;
      const text = `id:${messageId} sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 stat:${stat} err:000 text:`;
      sendDeliver(peer, {
        tag, attempt: 1, options: {
          source_addr: pdu.destination_addr, source_addr_ton: pdu.dest_addr_ton, source_addr_npi: pdu.dest_addr_npi,
          destination_addr: pdu.source_addr, dest_addr_ton: pdu.source_addr_ton, dest_addr_npi: pdu.source_addr_npi,
          esm_class: 0x04, data_coding: 0, short_message_hex: Buffer.from(text).toString('hex'),
          receipted_message_id: messageId,
        },
      });
    }
  });
  peer.on('enquire_link', (pdu) => {
    emit('enquire_link', { sequence: pdu.sequence_number });
    peer.send(pdu.response());
  });
  peer.on('enquire_link_resp', (pdu) => emit('enquire_link_resp', { sequence: pdu.sequence_number }));
  peer.on('unbind', (pdu) => {
    emit('unbind', { sequence: pdu.sequence_number });
    peer.send(pdu.response());
  });
  peer.on('unbind_resp', (pdu) => emit('unbind_resp', { sequence: pdu.sequence_number }));
  peer.on('generic_nack', (pdu) => {
    emit('generic_nack', { sequence: pdu.sequence_number, status: pdu.command_status });
  });
  peer.on('unknown', (pdu) => {
    emit('unknown', { command_id: pdu.command_id });
    peer.send(pdu.response());
  });
  peer.on('error', (e) => emit('session_error', { message: String(e && e.message) }));
  peer.on('close', () => {
    emit('close', {});
    if (bound === peer) {
      bound = null;
      // What was sent and not answered goes again on the next bind.
      for (const item of inFlight.values()) {
        item.attempt += 1;
        pending.push(item);
      }
      inFlight = new Map();
    }
  });
}

const commands = {
  // {"cmd":"deliver","tag":T, "options":{...deliver_sm fields, short_message_hex: "..."}}
  deliver(command) {
    pending.push({ tag: command.tag, options: command.options, attempt: 1 });
    flush();
  },
  // {"cmd":"submit_replies","statuses":[0x58]}: answers for the next submit_sm, then OK
  submit_replies(command) {
    submitReplies.push(...command.statuses);
  },
  // {"cmd":"refuse_binds","count":N}: the next N binds fail (ESME_RBINDFAIL); 0 ends that
  refuse_binds(command) {
    refuseBinds = command.count;
  },
  // {"cmd":"hold_submits"}: submit_sm are not answered until {"cmd":"release_submits"}
  hold_submits() {
    holdSubmits = true;
  },
  release_submits() {
    holdSubmits = false;
    for (const held of heldResponses.splice(0)) {
      held.peer.send(held.response);
    }
  },
  // {"cmd":"receipt_next","tag":T,"stat":"DELIVRD"}: the next accepted submit_sm gets its
  // receipt at once, right behind submit_sm_resp
  receipt_next(command) {
    receiptNext = { tag: command.tag, stat: command.stat };
  },
  // {"cmd":"drop"}: the connection breaks (no unbind)
  drop() {
    if (bound) {
      bound.destroy();
    }
  },
  // {"cmd":"enquire_link"}: the SMSC asks whether the ESME is alive
  enquire_link() {
    if (bound) {
      bound.enquire_link();
    }
  },
  // {"cmd":"unbind"}: the SMSC ends the session properly
  unbind() {
    if (bound) {
      bound.unbind();
    }
  },
  // {"cmd":"raw","hex":"..."}: bytes as they are (an unknown command, say)
  raw(command) {
    if (bound) {
      bound.socket.write(Buffer.from(command.hex, 'hex'));
    }
  },
};

const server = smpp.createServer(onSession);
server.on('error', (e) => {
  emit('server_error', { message: String(e && e.message) });
  process.exit(1);
});
server.listen(Number(args.port || 0), '127.0.0.1', () => {
  emit('listening', { port: server.address().port });
});

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (!line.trim()) {
    return;
  }
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
}).on('close', () => process.exit(0));
