// The browser's MLS member (src/e2ee/mls-session.js) with the server as external sender (docs/PROTOCOL.md §4.8) and
// device identities in credentials (§4.9), against Java: the proposals are made by veil-server's own
// MlsExternalSender and the other members are veil-e2ee MlsGroupSessions (test-support/mls/MlsPeer.java), each
// message handed on as the delivery service would. Honest runs (a Java-founded group naming the server, browsers
// joining and a Java member leaving by the server's proposals, committed by reference by Java and by the browser;
// a browser-founded group naming the server that Java joins) and a hostile server (a ghost Add, a Remove of a member
// never announced as gone, a forged signature, a proposal to a group that does not name the server, a member's
// message re-sent as the server's, a commit adding a ghost inline). Needs veil-client-all.jar and veil-server.jar.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { MlsSession } from '../../src/e2ee/mls-session.js';
import { decodeWhole, hasExternalSender } from '../../src/e2ee/mls-group.js';
import { toBase64, fromBase64, toHex, utf8 } from '../../src/e2ee/bytes.js';
import { DeviceIdentity, fingerprintDisplay } from '../../src/e2ee/identity.js';
import { createGroup, generateKeyPackage, getCiphersuiteImpl, getCiphersuiteFromName, nobleCryptoProvider,
  defaultLifetime } from '../../src/e2ee/vendor/ts-mls.js';
import { externalSendersExtensionData, connectionIdOf } from '../../src/e2ee/mls-credential.js';
import {
  spawnMlsPeer, sessionMember, pumpSession as pump, javaView, sessionView,
} from '../../test-support/mls/java-peer.mjs';

const peers = [];
after(async () => { for (const p of peers) await p.stop(); });

function java() {
  const p = spawnMlsPeer();
  peers.push(p);
  return p;
}

const SEED_J = '11'.repeat(32);
const SEED_W = '22'.repeat(32);
let clock = 0;
const view = (s) => sessionView(s, toHex);
const gid = (name) => toBase64(utf8(name));

function assertSame(states) {
  const strip = ({ leaf, ...rest }) => rest;
  for (const st of states) assert.deepEqual(strip(st), strip(states[0]));
  return strip(states[0]);
}

/** Java founds `name` naming a fresh server; returns {j, server, es}. */
async function javaFounded(name, seed = null) {
  const j = java();
  await j.cmd('keypackage j1' + (seed ? ' ' + seed : ''));
  const [server, es] = await j.cmd('server');
  await j.cmd(`create ${gid(name)} ${es}`);
  return { j, server, es };
}

/** `s` asks to join: its key package message (base64). */
async function keyPackageOf(s, name) {
  s.onEvent({ event: 'join', group_id: gid(name) }, clock++);
  await pump(s);
  return s.sent.shift().payload;
}

test('mls external sender: browsers join a Java group by the server\'s Add proposals, a Java member leaves by its '
  + 'Remove proposal committed by a browser; device fingerprints and data keys agree', async () => {
  const name = 'ext#1';
  const { j, server } = await javaFounded(name, SEED_J);
  const device = await DeviceIdentity.fromSeed(Uint8Array.from(Buffer.from(SEED_W, 'hex')));
  const w = sessionMember(MlsSession, 'w1', { device });

  // w joins: the server proposes its add, Java caches the proposal and commits it by reference
  const kpW = await keyPackageOf(w, name);
  const [p1] = await j.cmd(`propose ${server} add ${gid(name)} 0 ${kpW}`);
  assert.deepEqual(await j.cmd('handle ' + p1), ['proposal']);
  const [c1, w1] = await j.cmd('commit - -');
  assert.deepEqual(await j.cmd('handle ' + c1), ['own']);
  w.onMessage('j1', w1, clock++);
  await pump(w);
  assert.deepEqual(w.errors, []);
  assertSame([await javaView(j), view(w)]);
  assert.equal(w.epochs.at(-1).epoch, 1n);

  // x joins: the browser w caches the server's proposal and applies Java's commit by reference
  const x = sessionMember(MlsSession, 'x1');
  const kpX = await keyPackageOf(x, name);
  w.memberJoined('j1', clock++);
  w.memberJoined('x1', clock++);
  const [p2] = await j.cmd(`propose ${server} add ${gid(name)} 1 ${kpX}`);
  w.onMessage(null, p2, clock++);
  await pump(w);
  assert.deepEqual(w.errors, []);
  assert.deepEqual(w.sent, [], 'w is not the committer (Java has leaf 0)');
  assert.deepEqual(await j.cmd('handle ' + p2), ['proposal']);
  const [c2, w2] = await j.cmd('commit - -');
  await j.cmd('handle ' + c2);
  const byRef = decodeWhole(fromBase64(c2)).publicMessage.content.commit.proposals;
  assert.deepEqual(byRef.map((p) => p.proposalOrRefType), ['reference'], 'Java committed the server\'s Add by reference');
  w.onMessage('j1', c2, clock++);
  x.onMessage('j1', w2, clock++);
  await pump(w);
  await pump(x);
  let v = assertSame([await javaView(j), view(w), view(x)]);
  assert.deepEqual(v.roster, ['j1', 'w1', 'x1']);
  assert.notEqual(v.dataKey, v.baseKey, 'data and frames have keys of their own');

  // device identities: each side shows the other's device fingerprint, the same value Java computes
  const jFps = Object.fromEntries((await j.cmd('fingerprints'))[0].split(';').map((kv) => kv.split('=')));
  const wOwn = fingerprintDisplay(await device.fingerprint());
  assert.equal(jFps.w1.replace(/_/g, ' '), wOwn, 'Java verified the browser credential and shows its device fingerprint');
  assert.equal(jFps.x1, '-', 'x has no device identity');
  const wSees = Object.fromEntries(w.epochs.at(-1).senders.map((s) => [s.connectionId, s.deviceFingerprint]));
  assert.equal(wSees.j1, jFps.j1.replace(/_/g, ' '), 'the browser verified the Java credential');
  assert.equal(wSees.x1, null);

  // Java leaves: the server proposes its removal; w (the lowest live leaf) commits it by reference
  for (const s of [w, x]) s.memberLeft('j1', clock++);
  const [p3] = await j.cmd(`propose ${server} remove ${gid(name)} 2 0`);
  for (const s of [w, x]) s.onMessage(null, p3, clock++);
  assert.deepEqual(await j.cmd('handle ' + p3), ['proposal'], 'Java caches the proposal that removes it');
  await pump(w);
  await pump(x);
  assert.equal(w.sent.length, 1, 'w commits the removal');
  const commit = w.sent.shift();
  assert.deepEqual(decodeWhole(fromBase64(commit.payload)).publicMessage.content.commit.proposals
    .map((p) => p.proposalOrRefType), ['reference']);
  assert.deepEqual(commit.leaves, ['', 'w1', 'x1'], 'the leaves hint for the server\'s next Remove proposals');
  assert.deepEqual(x.sent, []);
  assert.deepEqual(await j.cmd('handle ' + commit.payload), ['removed']);
  for (const s of [w, x]) s.onMessage('w1', commit.payload, clock++);
  await pump(w);
  await pump(x);
  v = assertSame([view(w), view(x)]);
  assert.equal(v.epoch, 3n);
  assert.deepEqual(v.roster, ['w1', 'x1']);
  assert.deepEqual([...w.errors, ...x.errors], []);
});

test('mls external sender: a browser founds a group naming the server; Java joins by the server\'s proposal and '
  + 'accepts the server\'s proposals in it', async () => {
  const name = 'ext#2';
  const j = java();
  const [server, es] = await j.cmd('server');
  const w = sessionMember(MlsSession, 'w2', { externalSender: true });
  w.onEvent({ event: 'create', group_id: gid(name), external_sender: es }, clock++);
  await pump(w);
  assert.equal(w.epochs.at(-1).epoch, 0n);
  const [kpJ] = await j.cmd('keypackage j2');
  w.memberJoined('j2', clock++);
  w.onMessage('j2', kpJ, clock++); // the relayed key package: w waits 2 s for the server's proposal
  await pump(w);
  assert.deepEqual(w.sent, [], 'with the server named, the committer waits for its proposal');
  const [p1] = await j.cmd(`propose ${server} add ${gid(name)} 0 ${kpJ}`);
  w.onMessage(null, p1, clock++);
  await pump(w);
  const c = w.sent.shift();
  assert.deepEqual(c.welcome_to, ['j2']);
  w.onMessage('w2', c.payload, clock++);
  await pump(w);
  await j.cmd('join ' + c.welcome);
  const v = assertSame([view(w), await javaView(j)]);
  assert.equal(v.epoch, 1n);
  // Java reads the browser-made external_senders extension: it takes the server's next proposal
  const x = sessionMember(MlsSession, 'x2');
  const kpX = await keyPackageOf(x, name);
  const [p2] = await j.cmd(`propose ${server} add ${gid(name)} 1 ${kpX}`);
  assert.deepEqual(await j.cmd('handle ' + p2), ['proposal']);
  assert.deepEqual(w.errors, []);
});

test('mls external sender: without the server\'s proposal the committer adds and removes inline after 2 s', async () => {
  const name = 'ext#3';
  const j = java();
  const [, es] = await j.cmd('server');
  const w = sessionMember(MlsSession, 'w3', { externalSender: true });
  w.onEvent({ event: 'create', group_id: gid(name), external_sender: es }, 1000);
  const [kpJ] = await j.cmd('keypackage j3');
  w.memberJoined('j3', 1000);
  w.onMessage('j3', kpJ, 1000);
  await pump(w);
  assert.deepEqual(w.sent, []);
  assert.equal(w.nextTimeout(1000), 3000, 'the fallback deadline');
  w.timeout(2999);
  await pump(w);
  assert.deepEqual(w.sent, []);
  w.timeout(3000);
  await pump(w);
  assert.equal(w.sent.length, 1);
  assert.deepEqual(decodeWhole(fromBase64(w.sent[0].payload)).publicMessage.content.commit.proposals
    .map((p) => p.proposalOrRefType), ['proposal'], 'an inline Add');
});

// ------------------------------------------------------------------ hostile server

/** A Java-founded group naming the server, with browser w at leaf 1 (epoch 1); w was told j1 and w joined. */
async function groupWithBrowser(name) {
  const { j, server, es } = await javaFounded(name);
  const w = sessionMember(MlsSession, 'w1');
  const kpW = await keyPackageOf(w, name);
  const [p1] = await j.cmd(`propose ${server} add ${gid(name)} 0 ${kpW}`);
  await j.cmd('handle ' + p1);
  const [c1, w1] = await j.cmd('commit - -');
  await j.cmd('handle ' + c1);
  w.onMessage('j1', w1, clock++);
  w.memberJoined('j1', clock++);
  await pump(w);
  assert.equal(w.epochs.at(-1).epoch, 1n);
  return { j, server, es, w };
}

test('mls hostile server: an Add of a connection never announced is refused, and the commit that adds it anyway '
  + 'is not applied (the member stops sending)', async () => {
  const name = 'hostile#1';
  const { j, server, w } = await groupWithBrowser(name);
  const ghost = sessionMember(MlsSession, 'ghost');
  const kpG = await keyPackageOf(ghost, name);
  const [p] = await j.cmd(`propose ${server} add ${gid(name)} 1 ${kpG}`);
  w.onMessage(null, p, clock++);
  await pump(w);
  assert.deepEqual(w.errors.map((e) => e.reason), ['proposal-refused']);
  assert.match(w.errors[0].detail, /adds ghost, whose joining was never announced/);
  // a Java member (no checks) caches the proposal and commits it by reference: w refuses that commit
  await j.cmd('handle ' + p);
  const [c, welcome] = await j.cmd('commit - -');
  await j.cmd('handle ' + c);
  w.onMessage('j1', c, clock++);
  await pump(w);
  assert.deepEqual(w.errors.map((e) => e.reason), ['proposal-refused', 'commit-refused']);
  assert.equal(w.sendingHeld, true);
  assert.equal(w.stops, 1, 'its frame keys are deleted');
  assert.equal(w.epoch, 1n, 'it stays out of the epoch the ghost shares');
  assert.equal(w.epochs.length, 1);
  ghost.onMessage('j1', welcome, clock++);
  await pump(ghost);
  assert.equal(ghost.epochs.at(-1).epoch, 2n, 'the ghost is in the epoch w never entered');
});

test('mls hostile server: a Remove of a member never announced as gone is refused; an inline removal commit too',
  async () => {
  const name = 'hostile#2';
  const { j, server, w } = await groupWithBrowser(name);
  const x = sessionMember(MlsSession, 'x1');
  const kpX = await keyPackageOf(x, name);
  w.memberJoined('x1', clock++);
  const [c1, w1] = await j.cmd(`commit ${kpX} -`);
  await j.cmd('handle ' + c1);
  w.onMessage('j1', c1, clock++);
  x.onMessage('j1', w1, clock++);
  await pump(w);
  await pump(x);
  assert.deepEqual(w.errors, []);
  // the server proposes removing x, which never left
  const [p] = await j.cmd(`propose ${server} remove ${gid(name)} 2 2`);
  w.onMessage(null, p, clock++);
  await pump(w);
  assert.deepEqual(w.errors.map((e) => e.reason), ['proposal-refused']);
  assert.match(w.errors[0].detail, /removes x1, whose leaving was never announced/);
  // Java removes x inline (no proposal): w refuses the commit
  const [c2] = await j.cmd('commit - 2');
  w.onMessage('j1', c2, clock++);
  await pump(w);
  assert.deepEqual(w.errors.map((e) => e.reason), ['proposal-refused', 'commit-refused']);
  assert.equal(w.epoch, 2n);
});

test('mls hostile server: a forged signature, a proposal to a group that does not name the server and a member\'s '
  + 'message re-sent as the server\'s are rejected or ignored; nothing is cached or committed', async () => {
  const name = 'hostile#3';
  const { j, w } = await groupWithBrowser(name);
  const [forger] = await j.cmd('server'); // another key than the one the group names
  const x = sessionMember(MlsSession, 'x1');
  const kpX = await keyPackageOf(x, name);
  w.memberJoined('x1', clock++);
  w.memberLeft('j1', clock++); // w is now the committer: any cached proposal would make it commit
  const [forged] = await j.cmd(`propose ${forger} add ${gid(name)} 1 ${kpX}`);
  w.onMessage(null, forged, clock++);
  await pump(w);
  assert.deepEqual(w.errors.map((e) => e.reason), ['rejected']);
  assert.match(w.errors[0].detail, /signature/i);
  // a member's own commit handed over without `from`, as if the server had made it
  const [c] = await j.cmd('commit - -');
  w.onMessage(null, c, clock += 2000); // past the 1 s limit of one report per reason and sender
  await pump(w);
  assert.deepEqual(w.errors.map((e) => e.reason), ['rejected', 'rejected']);
  assert.deepEqual(w.sent, [], 'nothing cached, nothing committed (j1 is removed only after 2 s, inline)');
  assert.equal(w.epoch, 1n);

  // a group that does not name the server takes nothing from it
  const k = java();
  await k.cmd('keypackage k1');
  await k.cmd('create ' + gid('plain#3'));
  const [srv] = await k.cmd('server');
  const u = sessionMember(MlsSession, 'u1');
  const kpU = await keyPackageOf(u, 'plain#3');
  const [cu, wu] = await k.cmd(`commit ${kpU} -`);
  await k.cmd('handle ' + cu);
  u.onMessage('k1', wu, clock++);
  u.memberLeft('k1', clock++);
  await pump(u);
  const [pu] = await k.cmd(`propose ${srv} remove ${gid('plain#3')} 1 0`);
  u.onMessage(null, pu, clock++);
  await pump(u);
  assert.deepEqual(u.errors, []);
  assert.deepEqual(u.sent, [], 'not cached: no commit by reference');
});

test('mls hostile server: a withheld removal is reported after 10 s and holds sending until an epoch without the '
  + 'departed member', async () => {
  const name = 'hostile#4';
  const { j, w } = await groupWithBrowser(name);
  const x = sessionMember(MlsSession, 'x1');
  const kpX = await keyPackageOf(x, name);
  w.memberJoined('x1', 50_000);
  const [c1, w1] = await j.cmd(`commit ${kpX} -`);
  await j.cmd('handle ' + c1);
  w.onMessage('j1', c1, 50_001);
  x.onMessage('j1', w1, 50_001);
  await pump(w);
  // x leaves; the server delivers no removal (w is not the committer: j1 has leaf 0)
  w.memberLeft('x1', 60_000);
  await pump(w);
  assert.equal(w.nextTimeout(60_000), 62_000, 'first the 2 s fallback deadline');
  w.timeout(62_000);
  await pump(w);
  assert.equal(w.nextTimeout(62_000), 70_000, 'then the 10 s bound');
  w.timeout(69_999);
  await pump(w);
  assert.equal(w.sendingHeld, false);
  w.timeout(70_000);
  await pump(w);
  assert.deepEqual(w.errors.map((e) => e.reason), ['removal-withheld']);
  assert.equal(w.errors[0].from, 'x1');
  assert.equal(w.sendingHeld, true);
  assert.equal(w.stops, 1, 'frame and data keys deleted');
  // the removal finally comes: an epoch without x; w sends again
  const [c2] = await j.cmd('commit - 2');
  await j.cmd('handle ' + c2);
  w.onMessage('j1', c2, 71_000);
  await pump(w);
  assert.equal(w.sendingHeld, false);
  const e = w.epochs.at(-1);
  assert.deepEqual([e.epoch, e.held, e.roster], [3n, false, ['j1', 'w1']]);
  assert.ok(e.baseKey && e.dataKey);
});

test('ts-mls 1.6.4 shortfall, documented: createGroup refuses the RFC 9420 external_senders extension (it reads one '
  + 'ExternalSender, not the vector); MlsSession puts it into the epoch-0 context itself', async () => {
  const cs = await getCiphersuiteImpl(getCiphersuiteFromName('MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519'),
    nobleCryptoProvider);
  const j = java();
  const [, es] = await j.cmd('server');
  const kp = await generateKeyPackage({ credentialType: 'basic', identity: utf8('a') },
    { versions: ['mls10'], ciphersuites: [cs.name], extensions: [], proposals: [], credentials: ['basic'] },
    defaultLifetime, [], cs);
  const ext = [{ extensionType: 'external_senders', extensionData: externalSendersExtensionData(fromBase64(es)) }];
  await assert.rejects(createGroup(utf8('g'), kp.publicPackage, kp.privatePackage, ext, cs),
    'if this passes, ts-mls reads the standard form: drop the work-around in mls-session.js');
  const s = sessionMember(MlsSession, 'a', { externalSender: true });
  s.onEvent({ event: 'create', group_id: gid('g'), external_sender: es }, clock++);
  await pump(s);
  assert.deepEqual(s.errors, []);
  assert.equal(connectionIdOf(utf8('a')), 'a');
  assert.equal(s.epochs.length, 1);
});

test('mls credentials: a key package whose device signature does not cover its leaf is refused', async () => {
  const device = await DeviceIdentity.fromSeed(new Uint8Array(32).fill(3));
  const a = sessionMember(MlsSession, 'a9');
  a.onEvent({ event: 'create', group_id: gid('cred#9') }, clock++);
  const b = sessionMember(MlsSession, 'b9', { device });
  const kp = await keyPackageOf(b, 'cred#9');
  // flip one byte of the device signature (the identity's last byte) inside the key package message
  const bytes = fromBase64(kp);
  const id = decodeWhole(bytes).keyPackage.leafNode.credential.identity;
  const at = Buffer.from(bytes).indexOf(Buffer.from(id));
  bytes[at + id.length - 1] ^= 1;
  a.memberJoined('b9', clock++);
  a.onMessage('b9', toBase64(bytes), clock++);
  await pump(a);
  assert.deepEqual(a.errors.map((e) => e.reason), ['key-package-identity']);
  assert.deepEqual(a.sent, []);
  assert.equal(hasExternalSender({ groupContext: { extensions: [] } }), false);
});
