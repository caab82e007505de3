// The default E2EE key mode (issue 13): {e2ee: true} runs the MLS key mode unless the options ask for what only
// sender keys do (a passphrase, also from "#e2eekey=…" in the page URL, an e2eeMode, JFrame); connect always names
// the mode (e2ee_key_mode); an unknown mode is refused, never replaced. Scripted WebSocket/RTCPeerConnection of
// test-support/sdk/fakes.mjs and a fake worker that acknowledges every message.
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { FakeWebSocket, installFakes, removeFakes } from '../../test-support/sdk/fakes.mjs';
import { VeilConnection, KEY_MODES } from '../../src/veil.js';

function ackingWorker() {
  const w = {
    posted: [],
    onmessage: null,
    postMessage(m) {
      w.posted.push(m.type);
      if (m.id !== undefined) queueMicrotask(() => w.onmessage && w.onmessage({ data: { type: 'ack', id: m.id } }));
    },
    addEventListener() {},
    removeEventListener() {},
    terminate() { w.terminated = true; },
  };
  return w;
}

async function until(what, cond) {
  for (let i = 0; i < 10_000; i++) {
    if (cond()) return;
    await new Promise(resolve => setImmediate(resolve));
  }
  throw new Error(`never: ${what}`);
}

const mk = (o) => new VeilConnection('ws://127.0.0.1:1/signaling', 'sendrecv', 'room', null, o);

let Veil;
beforeEach(async () => { Veil = await installFakes(); });
afterEach(() => { removeFakes(); delete globalThis.location; });

test('keyMode default: {e2ee: true} is mls; a passphrase, an e2eeMode or JFrame keep sender-keys; explicit wins', () => {
  assert.deepEqual(KEY_MODES, ['sender-keys', 'mls']);
  const m = mk({ e2ee: true });
  assert.deepEqual([m.e2eeKeyMode, m.e2eeEpoch, m.e2eeRoster], ['mls', -1, []]);
  assert.equal(mk({ e2ee: true, passphrase: 'p' }).e2eeKeyMode, 'sender-keys');
  assert.equal(mk({ e2ee: true, e2eeMode: 'keys' }).e2eeKeyMode, 'sender-keys');
  assert.equal(mk({ e2ee: true, e2eeMode: 'passphrase' }).e2eeKeyMode, 'sender-keys');
  assert.equal(mk({ e2ee: true, e2eeFormat: 'jframe' }).e2eeKeyMode, 'sender-keys');
  assert.equal(mk({ e2ee: true, e2eeFormat: 'sframe' }).e2eeKeyMode, 'mls');
  const s = mk({ e2ee: true, keyMode: 'sender-keys' });
  assert.deepEqual([s.e2eeKeyMode, s.e2eeEpoch, s.e2eeRoster], ['sender-keys', null, null]);
  assert.equal(mk({ e2ee: true, keyMode: 'mls' }).e2eeKeyMode, 'mls');
  assert.deepEqual([mk({}).e2eeKeyMode, mk({ e2ee: false }).e2eeKeyMode], [null, null]);
  // never silently replaced: an unknown mode, or mls with what it cannot do, is refused
  for (const bad of ['MLS', 'sender_keys', 'sframe', '']) {
    assert.throws(() => mk({ e2ee: true, keyMode: bad }), e => e.reason === 'bad-argument'
      && /unknown keyMode .* \(expected 'sender-keys' or 'mls'\)/.test(e.message), `keyMode ${JSON.stringify(bad)}`);
  }
  assert.throws(() => mk({ e2ee: true, keyMode: 'mls', passphrase: 'p' }), /no passphrase/);
  assert.throws(() => Veil.connection('ws://127.0.0.1:1/signaling').reconnecting('sendrecv', 'room', null,
    { e2ee: true, keyMode: 'Mls' }), /unknown keyMode 'Mls'/);
});

test('keyMode default: a page URL with "#e2eekey=…" (passphrase mode) keeps sender-keys', () => {
  globalThis.location = { hash: '#e2eekey=secret' };
  assert.equal(mk({ e2ee: true }).e2eeKeyMode, 'sender-keys');
  globalThis.location = { hash: '#other' };
  assert.equal(mk({ e2ee: true }).e2eeKeyMode, 'mls');
});

for (const [options, wire] of [[{ e2ee: true }, 'mls'], [{ e2ee: true, keyMode: 'sender-keys' }, 'sender-keys'],
  [{ e2ee: true, passphrase: 'p' }, 'sender-keys'], [{}, undefined]]) {
  test(`keyMode on the wire: connect with ${JSON.stringify(options)} says e2ee_key_mode ${wire}`, async () => {
    const worker = ackingWorker();
    const c = Veil.connection('ws://127.0.0.1:1/signaling').recvonly('room', null,
      { ...options, ...(options.e2ee ? { e2eeWorker: worker } : {}) });
    const up = c.connect(null);
    up.catch(() => {});
    await until('the WebSocket opened', () => FakeWebSocket.all.length === 1);
    const ws = FakeWebSocket.all[0];
    ws.onopen();
    const connect = ws.sent.find(m => m.type === 'connect');
    assert.equal(connect.e2ee, !!options.e2ee);
    assert.equal(connect.e2ee_key_mode, wire);
    assert.equal('e2ee_key_mode' in connect, wire !== undefined, 'explicit with E2EE, absent without');
    await c.disconnect();
  });
}

test('keyMode default: a reconnecting member decides its mode once, for all its connections', async () => {
  globalThis.location = { hash: '#e2eekey=secret' };
  const m = Veil.connection('ws://127.0.0.1:1/signaling').reconnecting('recvonly', 'room', null,
    { e2ee: true, e2eeWorker: ackingWorker() });
  globalThis.location = { hash: '' }; // the URL changes before the (first) connection is made
  const up = m.connect(null);
  up.catch(() => {});
  await until('the WebSocket opened', () => FakeWebSocket.all.length === 1);
  FakeWebSocket.all[0].onopen();
  assert.equal(FakeWebSocket.all[0].sent.find(x => x.type === 'connect').e2ee_key_mode, 'sender-keys');
  await m.disconnect();
});
