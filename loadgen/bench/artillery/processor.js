// Artillery processor for the stegosim API's framing: every WebSocket text frame is
// base64(IV[16] || AES-128-CTR(key = API token, counter = IV)(json)). Used only to compare
// Artillery with `stegosim load` (BENCHMARKS-load.md); Artillery is not a dependency.
//
// Environment: STEGOSIM_TOKEN_FILE (the node's api.token), STEGOSIM_REQUEST (default
// balance_info), STEGOSIM_ACCOUNT (default "1", for wallet requests).
'use strict';
const crypto = require('crypto');
const fs = require('fs');

const key = Buffer.from(fs.readFileSync(process.env.STEGOSIM_TOKEN_FILE, 'utf8').trim(), 'base64');
const type = process.env.STEGOSIM_REQUEST || 'balance_info';
const account = process.env.STEGOSIM_ACCOUNT || '1';
const wallet = !['status_info', 'chain_name', 'election_info', 'escrow_info'].includes(type);
let nextId = 1;

function frame(json) {
  // A fresh random IV per message (what AES-CTR needs: never reuse one under a key).
  const iv = crypto.randomBytes(16);
  const cipher = crypto.createCipheriv('aes-128-ctr', key, iv);
  return Buffer.concat([iv, cipher.update(json), cipher.final()]).toString('base64');
}

function unframe(text) {
  const raw = Buffer.from(text, 'base64');
  const decipher = crypto.createDecipheriv('aes-128-ctr', key, raw.subarray(0, 16));
  return JSON.parse(Buffer.concat([decipher.update(raw.subarray(16)), decipher.final()]).toString('utf8'));
}

// Before each send: the request, framed.
function makeRequest(context, events, done) {
  const id = nextId++;
  context.vars.id = id;
  const req = wallet ? { type, id, account_id: account } : { type, id };
  context.vars.frame = frame(JSON.stringify(req));
  return done();
}

// After each answer: decrypt, parse, check the id; count answers and errors.
function checkReply(context, events, done) {
  let m;
  try {
    m = unframe(context.vars.reply);
  } catch (e) {
    events.emit('counter', 'stegosim.unreadable', 1);
    return done();
  }
  if (m.id !== context.vars.id) {
    events.emit('counter', 'stegosim.unmatched', 1);
  } else if (m.type === 'error') {
    events.emit('counter', 'stegosim.error.' + (m.code || 'unknown'), 1);
  } else {
    events.emit('counter', 'stegosim.ok', 1);
  }
  return done();
}

module.exports = { makeRequest, checkReply };
