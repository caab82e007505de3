// A reconnecting E2EE member's worker (src/reconnect.js KeptWorker, src/e2ee/index.js workerReady/keepWorker), in
// node with the scripted WebSocket/RTCPeerConnection of test-support/sdk/fakes.mjs, fake Workers running the real
// FrameCryptor, and node:test mock timers for the reconnect backoff. The browser fail-over (test/browser/cluster-failover.test.mjs) failed because
// each new connection started a new module worker from the page's origin, which was the node that had just died:
// that worker never ran, and a transform on it lets no frame through. Now one worker serves all the member's
// connections (each drops its keys in it), and a worker that never starts fails the attempt with a clear error.
import { test, mock, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { KeptWorker } from '../../src/reconnect.js';
import { createE2EE, workerReady } from '../../src/e2ee/index.js';
import { createMlsE2EE } from '../../src/e2ee/mls-e2ee.js';
import { FrameCryptor } from '../../src/e2ee/framecryptor.js';
import { FakeWebSocket, FakePeerConnection, SDP, installFakes, removeFakes } from '../../test-support/sdk/fakes.mjs';

/** A Worker stand-in (an EventTarget, as a real one): the real FrameCryptor, or, with `broken`, a script that never loads. */
class FakeWorker extends EventTarget {
  static made = [];
  static brokenNext = 0;
  constructor(url, opts) {
    super();
    this.url = url;
    this.opts = opts;
    this.posted = [];
    this.terminated = false;
    this.broken = FakeWorker.brokenNext > 0;
    if (this.broken) FakeWorker.brokenNext--;
    this.cryptor = new FrameCryptor(m => this.deliver(m), () => 0);
    this.queue = Promise.resolve();
    FakeWorker.made.push(this);
  }
  deliver(data) {
    const ev = Object.assign(new Event('message'), { data: structuredClone(data) });
    this.dispatchEvent(ev);
    if (this.onmessage) this.onmessage(ev);
  }
  fail() {
    const ev = new Event('error', { cancelable: true });
    this.dispatchEvent(ev);
    if (this.onerror) this.onerror(ev);
  }
  postMessage(message) {
    assert.ok(!this.terminated, 'no message to a terminated worker');
    const msg = structuredClone(message);
    this.posted.push(msg.type);
    if (this.broken) { queueMicrotask(() => this.fail()); return; } // its script did not load: an error event
    this.queue = this.queue.then(() => this.cryptor.handleMessage(msg)).then(
      () => { if (msg.id !== undefined) this.deliver({ type: 'ack', id: msg.id }); },
      e => this.deliver({ type: 'e2ee-error', operation: 'message', reason: e.reason, id: msg.id }));
  }
  terminate() { this.terminated = true; }
}

const CID = ['0123456789ABCDEFGHJKMNPQRS', '1123456789ABCDEFGHJKMNPQRS'];
const A = 'ws://node-a.test/signaling';
const B = 'ws://node-b.test/signaling';

/** Lets real asynchronous work (WebCrypto key generation, the fake workers' queues) run until `cond()` holds. */
async function until(what, cond) {
  for (let i = 0; i < 10_000; i++) {
    if (cond()) return;
    await new Promise(resolve => setImmediate(resolve));
  }
  throw new Error(`never: ${what}`);
}

let Veil;
beforeEach(async () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  FakeWorker.made = [];
  FakeWorker.brokenNext = 0;
  globalThis.Worker = FakeWorker;
  Veil = await installFakes();
});

afterEach(() => {
  mock.timers.reset();
  removeFakes();
  delete globalThis.Worker;
});

/** The server behind the n-th WebSocket accepts (once E2EE set-up opened it): offer, then media up. */
async function accept(n, cid) {
  await until(`WebSocket ${n} opened`, () => FakeWebSocket.all.length > n);
  const ws = FakeWebSocket.all[n];
  ws.onopen();
  ws.deliver({ type: 'offer', connection_id: cid, channel_id: 'room', sdp: SDP, e2ee: true, ping_interval: 5 });
  await until('the offer answered', () => ws.sent.some(m => m.type === 'answer'));
  FakePeerConnection.last.set('connected', 'connected');
  return ws;
}

test('keptWorker_startsOnce_replacesOnlyAWorkerThatNeverAnswered_andStopsOnClose', () => {
  const kept = new KeptWorker(() => new FakeWorker('w'));
  const w1 = kept.take();
  assert.equal(kept.take(), w1, 'the same worker for the next connection');
  w1.fail(); // an error before any answer: its script did not load
  const w2 = kept.take();
  assert.notEqual(w2, w1);
  assert.ok(w1.terminated, 'the broken one is stopped');
  w2.deliver({ type: 'ack', id: 1 });
  w2.fail(); // a runtime error after it ran: still the worker holding nothing else
  assert.equal(kept.take(), w2);
  assert.equal(kept.started, 2);
  kept.close();
  assert.ok(w2.terminated);
  assert.equal(kept.started, 2);
});

test('workerReady_resolvesOnThePingsAnswer_rejectsWhenTheScriptFails_andRestoresTheHandlers', async () => {
  const ok = new FakeWorker('w');
  const mine = () => {};
  ok.onmessage = mine;
  await workerReady(ok);
  assert.deepEqual(ok.posted, ['ping']);
  assert.equal(ok.onmessage, mine, 'handlers as they were');

  FakeWorker.brokenNext = 1;
  const broken = new FakeWorker('w');
  const e = await workerReady(broken).catch(x => x);
  assert.equal(e.reason, 'worker');
  assert.match(e.message, /E2EE worker did not start/);
  assert.equal(broken.onerror, undefined);

  FakeWorker.brokenNext = 1;
  const e2 = await createE2EE({ worker: new FakeWorker('w') }).catch(x => x);
  assert.equal(e2.reason, 'worker', 'createE2EE fails instead of returning E2EE whose frames go nowhere');
  FakeWorker.brokenNext = 1;
  const e3 = await createMlsE2EE({ worker: new FakeWorker('w') }).catch(x => x);
  assert.equal(e3.reason, 'worker', 'so does the MLS key mode');
});

test('keepWorker_destroyDropsTheKeysInTheWorker_butLeavesItRunning_inBothKeyModes', async () => {
  for (const make of [o => createE2EE(o), o => createMlsE2EE(o)]) {
    const worker = new FakeWorker('w');
    const e = await make({ worker, keepWorker: true });
    assert.equal(worker.onmessage !== null && worker.onmessage !== undefined, true);
    e.destroy();
    assert.equal(worker.posted.at(-1), 'destroy');
    assert.ok(!worker.terminated);
    assert.equal(worker.onmessage, null, 'the next connection sets its own handler');
    const own = new FakeWorker('w');
    (await make({ worker: own })).destroy();
    assert.ok(own.terminated, 'without keepWorker the worker stops with its connection');
  }
});

test('reconnectingE2eeMember_usesOneWorkerForAllItsConnections_keysDroppedBetween_stoppedAtTheEnd', async () => {
  const m = Veil.connection([A, B]).reconnecting('recvonly', 'room', null,
    { e2ee: true, keyMode: 'sender-keys', reconnectBaseMs: 200, reconnectMaxMs: 1000 });
  const reconnected = [];
  m.on('reconnected', ev => reconnected.push(ev.url));
  const up = m.connect(null);
  await accept(0, CID[0]);
  await up;
  assert.equal(FakeWorker.made.length, 1);
  const worker = FakeWorker.made[0];
  assert.deepEqual(worker.opts, { type: 'module', name: 'Veil E2EE Worker' });
  assert.equal(worker.posted[0], 'ping', 'the first connection waited for the worker');

  FakeWebSocket.all[0].drop(); // the node died
  await until('the old connection dropped its keys', () => worker.posted.includes('destroy'));
  assert.ok(!worker.terminated, 'kept for the next connection');
  const afterDrop = worker.posted.length;
  mock.timers.tick(200); // the first attempt's delay is at most the base
  await accept(1, CID[1]);
  await until('reconnected', () => reconnected.length === 1);
  assert.equal(FakeWorker.made.length, 1, 'no new worker: nothing is fetched from the page origin again');
  assert.deepEqual(worker.posted.slice(afterDrop, afterDrop + 2), ['ping', 'setFormat'],
    'the new connection checks the worker, then starts over in it');
  assert.equal(m.current.e2ee.selfConnectionId, CID[1]);

  await m.disconnect();
  assert.ok(worker.terminated, 'stopped when the member leaves for good');
});

test('reconnectingE2eeMember_whoseWorkerNeverStarts_failsThatAttempt_andTheNextOneStartsAFreshWorker', async () => {
  FakeWorker.brokenNext = 1;
  const m = Veil.connection([A, B]).reconnecting('recvonly', 'room', null,
    { e2ee: true, keyMode: 'sender-keys', reconnectBaseMs: 200, reconnectMaxMs: 1000 });
  const reconnecting = [];
  m.on('reconnecting', ev => reconnecting.push(ev.reason));
  const up = m.connect(null);
  await until('the first attempt failed', () => reconnecting.length === 1);
  assert.match(reconnecting[0], /E2EE unavailable: worker: the E2EE worker did not start/);
  assert.equal(FakeWebSocket.all.length, 0, 'no signaling without a working worker');
  mock.timers.tick(200);
  await accept(0, CID[0]);
  await up;
  assert.equal(FakeWorker.made.length, 2);
  assert.ok(FakeWorker.made[0].terminated, 'the broken one is stopped when replaced');
  assert.ok(!FakeWorker.made[1].terminated);
  await m.disconnect();
  assert.ok(FakeWorker.made[1].terminated);
});
