// Verification people can use (src/e2ee/verification.js through index.js) and passphrase mode under a server that
// reuses connection ids, in node: members wired through a fake server (notifications + FIFO relay) with fake
// workers running the real FrameCryptor. Device identities are in-memory DeviceIdentity objects here; the browser
// test (test/browser/e2ee-verify.test.mjs) uses IndexedDB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createE2EE } from '../../src/e2ee/index.js';
import { FrameCryptor } from '../../src/e2ee/framecryptor.js';
import { DeviceIdentity, verificationCodeWithContext, fingerprintDisplay as fingerprintDisplayOf } from '../../src/e2ee/identity.js';
import { fromHex, toHex, fromBase64UrlStrict } from '../../src/e2ee/bytes.js';
import { decodeHeader } from '../../src/e2ee/sframe.js';

class FakeWorker {
  constructor() {
    this.posted = [];
    this.cryptor = new FrameCryptor((m) => this.onmessage && this.onmessage({ data: structuredClone(m) }), () => 0);
    this.queue = Promise.resolve();
  }
  postMessage(message) {
    const msg = structuredClone(message);
    this.posted.push(msg);
    this.queue = this.queue.then(() => this.cryptor.handleMessage(msg)).then(
      () => { if (msg.id !== undefined) this.onmessage({ data: { type: 'ack', id: msg.id } }); },
      (e) => this.onmessage({ data: { type: 'e2ee-error', operation: 'message', reason: e.reason, id: msg.id } }));
  }
  terminate() {}
}

class FakeServer {
  constructor(room) {
    this.room = room;
    this.members = new Map();
    this.inflight = Promise.resolve();
    this.relayed = 0;
    this.n = 0;
  }

  /** A member joins under `id` (the server chooses it) showing `name`. */
  async join({ id = 'c' + this.n++, name, ...options } = {}) {
    const events = [];
    const worker = new FakeWorker();
    const e2ee = await createE2EE({ worker, onEvent: (ev) => events.push(ev), ...options });
    const m = { id, e2ee, events, worker, metadata: e2ee.notifyMetadata(name ? { name } : {}) };
    e2ee.sendRelay = (to, payload) => this.relay(id, to, payload);
    e2ee.start(id, this.room);
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
    this.relayed++;
    this.inflight = this.inflight.then(() => {
      const t = this.members.get(to);
      if (t) t.e2ee.onRelayMessage(from, payload);
    });
  }

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

function waitFor(events, pred) {
  const found = events.find(pred);
  if (found) return Promise.resolve(found);
  return new Promise((resolve) => {
    const push = events.push.bind(events);
    events.push = (...evs) => {
      const r = push(...evs);
      const hit = evs.find(pred);
      if (hit) resolve(hit);
      return r;
    };
  });
}

const seed = (n) => fromHex(n.repeat(32));

test('deviceIdentity_fingerprintStableAcrossConnections_andShownToPeers', async () => {
  const server = new FakeServer('room');
  const bobDevice = await DeviceIdentity.fromSeed(seed('0b'));
  const alice = await server.join({ name: 'alice', deviceIdentity: await DeviceIdentity.fromSeed(seed('0a')) });
  const bob1 = await server.join({ name: 'bob', deviceIdentity: bobDevice });
  const fp = bob1.e2ee.deviceFingerprint;
  assert.match(fp, /^([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
  const seen1 = alice.e2ee.peers().find((p) => p.connectionId === bob1.id);
  assert.equal(seen1.deviceFingerprint, fp);
  assert.equal(seen1.name, 'bob');
  assert.equal(seen1.verified, false);
  await server.leave(bob1);
  const bob2 = await server.join({ name: 'bob', deviceIdentity: bobDevice });
  assert.notEqual(bob2.e2ee.selfFingerprint, bob1.e2ee.selfFingerprint); // fresh per connection
  assert.equal(bob2.e2ee.deviceFingerprint, fp); // the same device
  assert.equal(alice.e2ee.peers().find((p) => p.connectionId === bob2.id).deviceFingerprint, fp);
  for (const m of server.members.values()) m.e2ee.destroy();
});

test('markVerified_peer_thenNewDeviceUnderTheSameName_firesVerificationLost', async () => {
  const server = new FakeServer('room');
  const alice = await server.join({ name: 'alice', deviceIdentity: await DeviceIdentity.fromSeed(seed('0a')) });
  const bobDevice = await DeviceIdentity.fromSeed(seed('0b'));
  const bob1 = await server.join({ name: 'bob', deviceIdentity: bobDevice });
  await alice.e2ee.markVerified(bob1.e2ee.deviceFingerprint.toUpperCase()); // as typed by a user
  assert.equal(alice.e2ee.peers()[0].verified, true);
  assert.ok(alice.events.some((e) => e.type === 'verified' && e.scope === 'peer'));
  await server.leave(bob1);
  // the same device again: still verified, no alarm
  const bob2 = await server.join({ name: 'bob', deviceIdentity: bobDevice });
  const p2 = alice.e2ee.peers().find((p) => p.connectionId === bob2.id);
  assert.equal(p2.verified, true);
  assert.equal(p2.verifiedName, 'bob');
  assert.ok(!alice.events.some((e) => e.type === 'verification-lost'));
  await server.leave(bob2);
  // someone (or the server) shows up as "bob" with another device key
  const impostor = await server.join({ name: 'bob', deviceIdentity: await DeviceIdentity.fromSeed(seed('0c')) });
  const lost = alice.events.find((e) => e.type === 'verification-lost');
  assert.equal(lost.scope, 'peer');
  assert.equal(lost.reason, 'device-changed');
  assert.equal(lost.connectionId, impostor.id);
  assert.equal(lost.name, 'bob');
  assert.deepEqual(lost.verifiedFingerprints, [bob1.e2ee.deviceFingerprint]);
  assert.equal(lost.deviceFingerprint, impostor.e2ee.deviceFingerprint);
  const p3 = alice.e2ee.peers().find((p) => p.connectionId === impostor.id);
  assert.equal(p3.verified, false);
  assert.equal(p3.alarmed, true);
  for (const m of server.members.values()) m.e2ee.destroy();
});

test('markVerified_peer_thenSameNameWithoutDeviceCertificate_firesVerificationLostAfterGrace', async () => {
  const server = new FakeServer('room');
  const alice = await server.join({ name: 'alice', deviceCertificateGraceMs: 20 });
  const bob1 = await server.join({ name: 'bob', deviceIdentity: await DeviceIdentity.fromSeed(seed('0b')) });
  await alice.e2ee.markVerified(bob1.e2ee.deviceFingerprint);
  await server.leave(bob1);
  const noDevice = await server.join({ name: 'bob' }); // e.g. the server substituted bob's bundle with its own
  const lost = await waitFor(alice.events, (e) => e.type === 'verification-lost');
  assert.equal(lost.reason, 'no-device-certificate');
  assert.equal(lost.connectionId, noDevice.id);
  assert.equal(lost.deviceFingerprint, null);
  for (const m of server.members.values()) m.e2ee.destroy();
});

test('markVerified_room_thenAnyJoin_firesVerificationLost', async () => {
  const server = new FakeServer('room');
  const a = await server.join({ name: 'a' });
  const b = await server.join({ name: 'b' });
  assert.equal(a.e2ee.verificationCode, b.e2ee.verificationCode);
  await a.e2ee.markVerified();
  assert.equal(a.e2ee.roomVerified, true);
  const verified = a.e2ee.verificationCode;
  await server.join({ name: 'ghost' });
  const lost = a.events.find((e) => e.type === 'verification-lost');
  assert.equal(lost.scope, 'room');
  assert.equal(lost.verifiedCode, verified);
  assert.equal(lost.code, a.e2ee.verificationCode);
  assert.equal(a.e2ee.roomVerified, false);
  for (const m of server.members.values()) m.e2ee.destroy();
});

test('markVerified_connectionFingerprintOfPeerWithoutDevice_andUnknownFingerprintRejected', async () => {
  const server = new FakeServer('room');
  const a = await server.join({ name: 'a' });
  const b = await server.join({ name: 'b' });
  await a.e2ee.markVerified(b.e2ee.selfFingerprint);
  assert.equal(a.e2ee.peers()[0].verified, true);
  await assert.rejects(a.e2ee.markVerified('00'.repeat(32)), (e) => e.reason === 'unknown-fingerprint');
  for (const m of server.members.values()) m.e2ee.destroy();
});

test('roomCode_isTheCodeWithContext_channelModeAndFormat', async () => {
  for (const [options, mode, format, suite] of [[{}, 'keys', 'sframe', 4], [{ format: 'jframe' }, 'keys', 'jframe', 0],
    [{ passphrase: 'x' }, 'passphrase', 'sframe', 4]]) {
    const server = new FakeServer('room-' + mode);
    const a = await server.join({ id: 'same', ...options });
    const identityKey = fromBase64UrlStrict(a.e2ee.bundle.identity_key, 32);
    const expected = await verificationCodeWithContext({ channelId: 'room-' + mode, mode, format, cipherSuite: suite },
      [{ connectionId: 'same', identityKey }]);
    assert.equal(a.e2ee.verificationCode, expected.display, JSON.stringify(options));
    const other = await verificationCodeWithContext({ channelId: 'room-' + mode, mode, format: format === 'sframe'
      ? 'jframe' : 'sframe' }, [{ connectionId: 'same', identityKey }]);
    assert.notEqual(a.e2ee.verificationCode, other.display);
    a.e2ee.destroy();
  }
});

test('passphrase_sframe_twoMembersGivenTheSameConnectionId_differentKidsAndCiphertexts_bothDecrypt', async () => {
  const room = 'pp-room';
  const mk = async () => {
    const worker = new FakeWorker();
    const e = await createE2EE({ worker, passphrase: 'correct horse' });
    e.start('DUPLICATE', room); // the server hands both the same id
    await e.idle();
    return { e, worker };
  };
  const a = await mk();
  const b = await mk();
  const kidOf = (w) => w.posted.find((m) => m.type === 'setSendKey').kid;
  assert.notEqual(kidOf(a.worker), kidOf(b.worker));
  assert.ok(!a.worker.posted.some((m) => m.type === 'setPassphraseKey' && m.senderId == null));
  // the same frame at the same CTR: different KIDs, keys and nonces, so different ciphertexts
  const vp8 = fromHex('b0be009d012a8002e001' + '5a'.repeat(40));
  const enc = async (w) => {
    const f = { data: vp8.slice().buffer, type: 'key', getMetadata: () => ({ mimeType: 'video/VP8' }) };
    assert.equal(await w.cryptor.processFrame(f, { operation: 'encrypt', kind: 'video' }), true);
    return new Uint8Array(f.data);
  };
  const wa = await enc(a.worker);
  const wb = await enc(b.worker);
  assert.equal(decodeHeader(wa, 10).ctr, decodeHeader(wb, 10).ctr);
  assert.notEqual(decodeHeader(wa, 10).kid, decodeHeader(wb, 10).kid);
  assert.notEqual(toHex(wa.subarray(20)), toHex(wb.subarray(20)));
  // a third member that sees "DUPLICATE" decrypts both from P and the KID on the wire
  const cw = new FakeWorker();
  const c = await createE2EE({ worker: cw, passphrase: 'correct horse' });
  c.start('C', room);
  c.onMembersJoined([{ connectionId: 'DUPLICATE', metadata: a.e.notifyMetadata({}) }]);
  await c.idle();
  for (const wire of [wa, wb]) {
    const f = { data: wire.slice().buffer, type: 'key', getMetadata: () => ({ mimeType: 'video/VP8' }) };
    assert.equal(await cw.cryptor.processFrame(f, { operation: 'decrypt', kind: 'video', senderId: 'DUPLICATE' }),
      true);
    assert.equal(toHex(new Uint8Array(f.data)), toHex(vp8));
  }
  for (const m of [a.e, b.e, c]) m.destroy();
});

test('passphrase_jframe_saltInMetadata_sameConnectionIdGivesDifferentKeys', async () => {
  const room = 'pp-room';
  const mk = async (id) => {
    const worker = new FakeWorker();
    const e = await createE2EE({ worker, passphrase: 'correct horse', format: 'jframe' });
    e.start(id, room);
    await e.idle();
    return { e, worker };
  };
  const a = await mk('DUPLICATE');
  const b = await mk('DUPLICATE');
  const saltA = a.e.notifyMetadata({}).e2ee_passphrase_salt;
  assert.match(saltA, /^[A-Za-z0-9_-]{22}$/);
  assert.notEqual(saltA, b.e.notifyMetadata({}).e2ee_passphrase_salt);
  const keyOf = (w) => toHex(w.posted.find((m) => m.type === 'setPassphraseKey' && m.senderId == null).key);
  assert.notEqual(keyOf(a.worker), keyOf(b.worker));
  const vp8 = fromHex('b0be009d012a8002e001' + '5a'.repeat(40));
  const meta = () => ({ mimeType: 'video/VP8', synchronizationSource: 5, rtpTimestamp: 9 });
  const f = { data: vp8.slice().buffer, type: 'key', getMetadata: meta };
  assert.equal(await a.worker.cryptor.processFrame(f, { operation: 'encrypt', kind: 'video' }), true);
  // a receiver that got A's salt decrypts A; without a salt there is no key and an error says why
  const cw = new FakeWorker();
  const events = [];
  const c = await createE2EE({ worker: cw, passphrase: 'correct horse', format: 'jframe', onEvent: (e) => events.push(e) });
  c.start('C', room);
  c.onMembersJoined([{ connectionId: 'DUPLICATE', metadata: a.e.notifyMetadata({}) },
    { connectionId: 'NOSALT', metadata: { e2ee_bundle: a.e.bundle } }]);
  await c.idle();
  const g = { data: f.data.slice(0), type: 'key', getMetadata: meta };
  assert.equal(await cw.cryptor.processFrame(g, { operation: 'decrypt', kind: 'video', senderId: 'DUPLICATE' }), true);
  assert.equal(toHex(new Uint8Array(g.data)), toHex(vp8));
  assert.ok(events.some((e) => e.type === 'error' && e.reason === 'no-salt' && e.from === 'NOSALT'));
  for (const m of [a.e, b.e, c]) m.destroy();
});

test('peerVerification_certificateForAnotherChannelOrConnection_isRefused_andEarlyBufferIsBounded', async () => {
  const { PeerVerification, MAX_EARLY_SENDERS } = await import('../../src/e2ee/verification.js');
  const { Identity } = await import('../../src/e2ee/identity.js');
  const { PairwiseChannel, PURPOSE } = await import('../../src/e2ee/pairwise.js');
  const alice = await Identity.generate();
  const bob = await Identity.generate();
  const bobDevice = await DeviceIdentity.fromSeed(seed('0b'));
  const events = [];
  const v = new PeerVerification({ identity: alice, emit: (e) => events.push(e), send: () => {} });
  v.start('A', 'room');
  await v.membersChanged(new Map([['B', bob.bundle('B')]]), new Map());
  const bobToAlice = await PairwiseChannel.create(bob, 'B', alice.bundle('A'), PURPOSE.device);
  // a certificate made for another channel, then one for another connection id: both refused
  for (const [cid, channel] of [['B', 'other-room'], ['X', 'room']]) {
    const cert = await bobDevice.certify(bob.identityKey, cid, channel);
    await v.onDeviceMessage('B', await bobToAlice.seal(cert.encode()));
  }
  assert.equal(events.filter((e) => e.type === 'error' && e.reason === 'bad-signature').length, 2);
  assert.equal(v.peers()[0].deviceFingerprint, null);
  // the right one is accepted
  await v.onDeviceMessage('B', await bobToAlice.seal((await bobDevice.certify(bob.identityKey, 'B', 'room')).encode()));
  assert.equal(v.peers()[0].deviceFingerprint, fingerprintDisplayOf(await bobDevice.fingerprint()));
  // messages from connections not (yet) members: one kept per sender, at most MAX_EARLY_SENDERS senders
  for (let i = 0; i < MAX_EARLY_SENDERS + 5; i++) await v.onDeviceMessage('early' + i, new Uint8Array(100));
  assert.equal(events.filter((e) => e.reason === 'buffer-full').length, 5);
  await v.onDeviceMessage('big', new Uint8Array(2000));
  assert.equal(events.filter((e) => e.reason === 'buffer-full').length, 6);
  v.destroy();
});
