// The SDK-facing E2EE object (src/e2ee/index.js) in node: three or more members wired through a fake server
// (notifications + the E2EE relay) and fake workers that run the real FrameCryptor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createE2EE } from '../../src/e2ee/index.js';
import { FrameCryptor } from '../../src/e2ee/framecryptor.js';
import { SFrameReceiver } from '../../src/e2ee/sframe.js';
import { CODECS } from '../../src/e2ee/codec.js';
import { fromHex, toHex } from '../../src/e2ee/bytes.js';

/** A Worker stand-in: the real FrameCryptor behind postMessage, messages handled in order. */
class FakeWorker {
  constructor() {
    this.cryptor = new FrameCryptor((m) => this.onmessage && this.onmessage({ data: structuredClone(m) }), () => 0);
    this.queue = Promise.resolve();
    this.terminated = false;
  }
  postMessage(message) {
    const msg = structuredClone(message); // as a real Worker: the sender may wipe its copy right after
    this.queue = this.queue.then(() => this.cryptor.handleMessage(msg)).then(
      () => { if (msg.id !== undefined) this.onmessage({ data: { type: 'ack', id: msg.id } }); },
      (e) => this.onmessage({ data: { type: 'e2ee-error', operation: 'message', reason: e.reason, id: msg.id } }));
  }
  terminate() {
    this.terminated = true;
  }
}

/** The server side: member list, notifications and a FIFO relay per link. */
class FakeServer {
  constructor(room) {
    this.room = room;
    this.members = new Map();
    this.inflight = Promise.resolve();
    this.next = 0;
    this.relayed = 0;
  }

  async join(options = {}) {
    const id = 'conn' + this.next++;
    const events = [];
    const e2ee = await createE2EE({ worker: new FakeWorker(), keepKeysForTesting: true, onEvent: (ev) => events.push(ev), ...options });
    const m = { id, e2ee, events, metadata: e2ee.notifyMetadata({ name: id }) };
    e2ee.sendRelay = (to, payload) => this.relay(id, to, payload);
    e2ee.start(id, this.room); // the offer
    const present = [...this.members.values()];
    this.members.set(id, m);
    e2ee.onMembersJoined(present.map((p) => ({ connectionId: p.id, metadata: p.metadata })));
    for (const p of present) p.e2ee.onMemberJoined(id, m.metadata);
    await this.settle();
    return m;
  }

  async leave(m) {
    this.members.delete(m.id);
    m.e2ee.destroy();
    for (const p of this.members.values()) p.e2ee.onMemberLeft(m.id);
    await this.settle();
  }

  relay(from, to, payload) {
    // delivered asynchronously, in order
    this.relayed++;
    this.inflight = this.inflight.then(() => {
      const t = this.members.get(to);
      if (t) t.e2ee.onRelayMessage(from, payload);
    });
  }

  /** Until no member has work left and no relay message is in flight. */
  async settle() {
    for (;;) {
      const before = this.relayed;
      await this.inflight;
      for (const m of this.members.values()) await m.e2ee.idle();
      await this.inflight;
      if (this.relayed === before) return;
    }
  }
}

function frame(bytes, mimeType = 'video/VP8', type = 'key') {
  return { data: Uint8Array.from(bytes).buffer, type, timestamp: 3000,
    getMetadata: () => ({ mimeType, synchronizationSource: 77, rtpTimestamp: 3000 }) };
}

const VP8 = fromHex('b0be009d012a8002e001' + '5a'.repeat(80));

async function send(workers, from, bytes = VP8) {
  const f = frame(bytes);
  assert.equal(await workers.get(from.id).cryptor.processFrame(f, { operation: 'encrypt', kind: 'video' }), true);
  return new Uint8Array(f.data);
}

async function receive(workers, at, fromId, wire) {
  const f = frame(wire);
  const ok = await workers.get(at.id).cryptor.processFrame(f, { operation: 'decrypt', kind: 'video', senderId: fromId });
  return ok ? new Uint8Array(f.data) : null;
}

/** createE2EE with a FakeWorker we can reach. */
async function room(n, options = {}) {
  const server = new FakeServer('e2ee-room');
  const workers = new Map();
  const origJoin = server.join.bind(server);
  server.join = async (opts = {}) => {
    const w = new FakeWorker();
    const m = await origJoin({ ...options, ...opts, worker: w });
    workers.set(m.id, w);
    return m;
  };
  const members = [];
  for (let i = 0; i < n; i++) members.push(await server.join());
  return { server, workers, members };
}

test('keysMode_threeMembers_everyoneDecryptsEveryone', async () => {
  const { server, workers, members } = await room(3);
  for (const s of members) {
    const wire = await send(workers, s);
    assert.notEqual(toHex(wire.subarray(10)), toHex(VP8.subarray(10)));
    for (const r of members) {
      if (r === s) continue;
      assert.deepEqual(await receive(workers, r, s.id, wire), VP8, `${r.id} decrypts ${s.id}`);
    }
  }
  for (const m of members) m.e2ee.destroy();
  await server.settle();
});

test('keysMode_fingerprintsAndCodeAgree_codeChangesOnJoinAndLeave', async () => {
  const { server, members } = await room(3);
  const [a, b, c] = members;
  for (const m of members) {
    for (const o of members) {
      if (o !== m) assert.equal(m.e2ee.remoteFingerprints.get(o.id), o.e2ee.selfFingerprint);
    }
  }
  const code3 = a.e2ee.verificationCode;
  assert.match(code3, /^(\d{5} ){5}\d{5}$/);
  assert.equal(b.e2ee.verificationCode, code3);
  assert.equal(c.e2ee.verificationCode, code3);
  await server.leave(c);
  assert.notEqual(a.e2ee.verificationCode, code3);
  assert.equal(a.e2ee.verificationCode, b.e2ee.verificationCode);
  assert.equal(a.e2ee.remoteFingerprints.has(c.id), false);
  assert.ok(a.events.some((e) => e.type === 'verification-code'));
  for (const m of [a, b]) m.e2ee.destroy();
});

test('keysMode_leave_departedKeysOpenNothingNew_othersKeepDecrypting', async () => {
  const { server, workers, members } = await room(3);
  const [a, b, c] = members;
  const held = c.e2ee.exportKeysForTesting();
  assert.ok(held.receive[a.id].length > 0);
  const before = await send(workers, a);
  await server.leave(c);
  assert.equal(c.e2ee.destroyed, true);
  const after = await send(workers, a);
  // A now sends under a fresh generation that B has and C never had.
  assert.deepEqual(await receive(workers, b, a.id, after), VP8);
  const ring = new SFrameReceiver();
  for (const k of held.receive[a.id]) await ring.addKey(BigInt(k.kid), fromHex(k.key));
  assert.deepEqual(await ring.decryptFrame(CODECS.vp8, 'key', before), VP8); // what C could read before it left
  await assert.rejects(ring.decryptFrame(CODECS.vp8, 'key', after), { reason: 'no-key' });
  const sendKeys = a.events.filter((e) => e.type === 'send-key').map((e) => BigInt(e.kid) >> 8n);
  assert.ok(sendKeys.at(-1) > sendKeys[0], 'a new generation after the leave');
  for (const m of [a, b]) m.e2ee.destroy();
});

test('keysMode_badBundle_reportedAndIgnored', async () => {
  const { server, members } = await room(1);
  const [a] = members;
  a.e2ee.onMemberJoined('mallory', { name: 'mallory' });
  a.e2ee.onMemberJoined('eve', { e2ee_bundle: { ...a.e2ee.bundle, signature: a.e2ee.bundle.signature.replace(/^./, (ch) => (ch === 'A' ? 'B' : 'A')) } });
  await server.settle();
  const errs = a.events.filter((e) => e.type === 'error').map((e) => [e.from, e.reason]);
  assert.deepEqual(errs, [['mallory', 'bad-bundle'], ['eve', 'bad-bundle']]);
  assert.equal(a.e2ee.remoteFingerprints.size, 0);
  a.e2ee.destroy();
});

test('passphraseMode_samePassphraseDecrypts_wrongOneDoesNot', async () => {
  const server = new FakeServer('pp-room');
  const workers = new Map();
  const join = async (passphrase) => {
    const w = new FakeWorker();
    const m = await server.join({ passphrase, worker: w });
    workers.set(m.id, w);
    return m;
  };
  const a = await join('correct horse');
  const b = await join('correct horse');
  const c = await join('wrong horse');
  await server.settle();
  const wire = await send(workers, a);
  assert.deepEqual(await receive(workers, b, a.id, wire), VP8);
  assert.equal(await receive(workers, c, a.id, wire), null);
  assert.ok(c.events.some((e) => e.type === 'error' && e.reason === 'bad-tag'));
  // C learns the right passphrase (hashchange): now it decrypts too.
  c.e2ee.setPassphrase('correct horse');
  await server.settle();
  assert.deepEqual(await receive(workers, c, a.id, await send(workers, a)), VP8);
  assert.deepEqual(await receive(workers, a, c.id, await send(workers, c)), VP8);
  for (const m of [a, b, c]) m.e2ee.destroy();
});

test('jframeFormat_groupKeys_everyoneDecryptsEveryone', async () => {
  const { server, workers, members } = await room(3, { format: 'jframe' });
  for (const s of members) {
    const wire = await send(workers, s);
    assert.equal(wire.length, VP8.length + 30);
    for (const r of members) {
      if (r !== s) assert.deepEqual(await receive(workers, r, s.id, wire), VP8, `${r.id} decrypts ${s.id}`);
    }
  }
  for (const m of members) m.e2ee.destroy();
  await server.settle();
});

test('destroy_terminatesWorkerAndDestroysIdentity', async () => {
  const { workers, members } = await room(1);
  members[0].e2ee.destroy();
  assert.equal(workers.get(members[0].id).terminated, true);
  assert.equal(members[0].e2ee.destroyed, true);
  assert.throws(() => members[0].e2ee.attachSender({}, 'video'), { reason: 'destroyed' });
});

test('notifyMetadata_addsBundleKeepsAppFields', async () => {
  const e2ee = await createE2EE({ worker: new FakeWorker() });
  const md = e2ee.notifyMetadata({ name: 'x' });
  assert.equal(md.name, 'x');
  assert.deepEqual(Object.keys(md.e2ee_bundle), ['version', 'identity_key', 'kx_key', 'signature']);
  assert.match(e2ee.selfFingerprint, /^([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
  e2ee.destroy();
});

test('hostileInput_oversizedRelayPayloadAndEarlyFlood_refusedBeforeAllocation', async () => {
  const events = [];
  const e2ee = await createE2EE({ worker: new FakeWorker(), onEvent: (ev) => events.push(ev) });
  // before the offer: notifications are kept, but only up to a bound
  for (let i = 0; i < 300; i++) e2ee.onMemberLeft('ghost' + i);
  assert.equal(events.filter((e) => e.reason === 'buffer-full').length, 300 - 256);
  e2ee.start('self', 'room');
  // a 10 MB relay payload is refused on its length, never decoded or buffered
  const huge = 'A'.repeat(10 * 1024 * 1024);
  e2ee.onRelayMessage('someone', huge);
  const refused = events.filter((e) => e.type === 'error' && e.reason === 'malformed');
  assert.equal(refused.length, 1);
  assert.match(refused[0].detail, /too long/);
  await e2ee.idle();
  e2ee.destroy();
});
