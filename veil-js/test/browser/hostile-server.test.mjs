// The hostile-server suite in headless Chromium (docs/SECURITY.md §6): two E2EE pages talk through
// veil-hostile-all.jar, a real veil-server whose operator attacks them — through its signaling relay (bundle
// substitution, a ghost shown to one member, relabelled and replayed key messages) and through its hand on the
// media it forwards (corrupted, truncated and replayed frames). Every attack ends prevented (nothing decoded
// across it, refused and reported) or detected (fingerprints and codes differ).
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../test-support/helpers/server.mjs';
import { startHostileServer } from '../../test-support/helpers/hostile.mjs';
import { launchChromium } from '../../test-support/helpers/browser.mjs';
import { smallStreamSource, joinE2eeInPage, e2eeStatsInPage, e2eeViewInPage } from '../../test-support/browser/e2ee-pages.mjs';

const CHANNEL = 'hostile-room';
const PEERS = [
  { name: 'alice', rgb: [220, 40, 40], hz: 440 },
  { name: 'bob', rgb: [40, 200, 60], hz: 550 },
  { name: 'carol', rgb: [40, 60, 220], hz: 660 },
];
let server;
let browser;
let contexts = [];

before(async () => { browser = await launchChromium(); });
after(async () => { if (browser) await browser.close(); });

// a fresh hostile server for every attack, so members are numbered 0, 1 in each
beforeEach(async () => { server = await startHostileServer(); });
afterEach(async () => {
  for (const c of contexts) await c.close();
  contexts = [];
  if (server) await server.stop();
});

async function join(i, options) {
  const context = await browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', e => console.error('page error:', e.message));
  await page.goto(server.base + '/');
  await page.addScriptTag({ content: smallStreamSource() });
  const p = PEERS[i];
  const id = await page.evaluate(joinE2eeInPage, { ws: server.ws, channel: CHANNEL, rgb: p.rgb, hz: p.hz, name: p.name, options });
  return { page, id, name: p.name };
}

const stats = page => page.evaluate(e2eeStatsInPage);
const view = page => page.evaluate(e2eeViewInPage);
const errors = (page, source) => page.evaluate(s => window.veil.events
  .filter(e => e.type === 'error' && e.source === s).map(e => ({ reason: e.reason, from: e.from ?? e.senderId })), source);

/** Video frames `at` decoded from `from` (0 before its track), and RTP packets of it received. */
async function videoOf(at, from) {
  const s = (await stats(at.page))[from.id];
  return { decoded: s?.video?.framesDecoded || 0, packets: s?.video?.packetsReceived || 0 };
}

async function decodingEachOther(a, b, n = 5) {
  await waitFor('both decode each other', async () => (await videoOf(a, b)).decoded > n
    && (await videoOf(b, a)).decoded > n, 30000);
}

async function threeInACall() {
  const a = await join(0);
  const b = await join(1);
  const c = await join(2);
  await waitFor('one code for three', async () => {
    const vs = await Promise.all([a, b, c].map(m => view(m.page)));
    return vs.every(v => Object.keys(v.remote).length === 2 && v.code === vs[0].code);
  }, 30000);
  return [a, b, c];
}

/**
 * Carol (colluding with the server) leaves with every key she holds; resolves, once alice and bob both encrypt
 * under a generation carol never held, with the milliseconds from the leave to that for each.
 */
async function leaveAndAwaitKeysTheLeaverNeverHeld(a, b, c) {
  await waitFor('carol holds a key of alice and of bob', () => c.page.evaluate(ids => {
    const r = window.veil.conn.e2ee.exportKeysForTesting().receive;
    return ids.every(id => r[id] && r[id].length > 0);
  }, [a.id, b.id]), 30000);
  const left = await c.page.evaluate(async () => {
    const keys = window.veil.conn.e2ee.exportKeysForTesting();
    const at = performance.timeOrigin + performance.now();
    await window.veil.conn.disconnect();
    const maxGen = {};
    for (const [id, list] of Object.entries(keys.receive)) {
      maxGen[id] = list.reduce((g, k) => Math.max(g, Number(BigInt(k.kid) >> 8n)), -1);
    }
    return { at, maxGen };
  });
  const rotated = [];
  for (const m of [a, b]) {
    const gen = left.maxGen[m.id];
    assert.ok(gen >= 0, 'carol held a key of ' + m.name);
    rotated.push(await waitFor(`${m.name} sends under a key carol never held`, () => m.page.evaluate(({ after, gen }) => {
      const ev = window.veil.events.find(e => e.type === 'key-used' && e.operation === 'encrypt' && e.time > after
        && /^\d+$/.test(e.kid) && Number(BigInt(e.kid) >> 8n) > gen);
      return ev ? Math.round(ev.time - after) : null;
    }, { after: left.at, gen }), 20000));
  }
  return rotated;
}

test('hostile_substitutedBundle_isDetected_andNothingIsDecodedAcrossIt', async () => {
  await server.command('substitute-bundles 0');
  const a = await join(0);
  const b = await join(1);
  await waitFor('both list one member', async () => Object.keys((await view(a.page)).remote).length === 1
    && Object.keys((await view(b.page)).remote).length === 1);
  const va = await view(a.page);
  const vb = await view(b.page);
  assert.notEqual(va.remote[b.id], vb.self, 'alice is shown a key that is not bob\'s');
  assert.equal(vb.remote[a.id], va.self);
  assert.notEqual(va.code, vb.code, 'detected: the codes differ');
  // prevented: bob's media reaches alice and is not decoded
  await waitFor('alice receives 100 video packets of bob', async () => (await videoOf(a, b)).packets > 100, 30000);
  // frames that come before a key are held up to 1 s, then dropped and reported
  await waitFor('alice reports bob\'s frames dropped', async () => (await errors(a.page, 'frames')).length > 0, 20000);
  assert.equal((await videoOf(a, b)).decoded, 0);
  assert.equal((await videoOf(b, a)).decoded, 0);
});

test('hostile_ghostShownToOneMember_isDetected_byTheCode', async () => {
  const a = await join(0);
  const b = await join(1);
  await waitFor('one code', async () => (await view(a.page)).code && (await view(a.page)).code === (await view(b.page)).code);
  const ghost = (await server.command('ghost 0')).split(' ')[1];
  await waitFor('alice lists the ghost', async () => ghost in (await view(a.page)).remote);
  const va = await view(a.page);
  const vb = await view(b.page);
  assert.ok(!(ghost in vb.remote));
  assert.notEqual(va.code, vb.code, 'a split view shows as different codes');
});

test('hostile_leaveWithheldFromOneMember_isDetected_byTheCode', async () => {
  const a = await join(0);
  const b = await join(1);
  const c = await join(2);
  await waitFor('one code for three', async () => {
    const vs = await Promise.all([a, b, c].map(m => view(m.page)));
    return vs.every(v => Object.keys(v.remote).length === 2 && v.code === vs[0].code);
  });
  await server.command('withhold-leave 0 2');
  await c.page.evaluate(() => window.veil.conn.disconnect());
  await waitFor('bob sees carol leave', async () => !(c.id in (await view(b.page)).remote));
  const va = await view(a.page);
  assert.ok(c.id in va.remote, 'alice still lists carol');
  assert.notEqual(va.code, (await view(b.page)).code, 'detected: the codes differ');
});

test('hostile_passphraseMembersGivenTheSameConnectionId_neverShareAKey', async () => {
  const options = { passphrase: 'correct horse battery', e2eeFormat: 'sframe' };
  const a = await join(0, options);
  await server.command('give-id 1 0'); // bob will be told that alice's id is his: the same PBKDF2 seed
  const b = await join(1, options);
  assert.equal(b.id, a.id, 'the attack took effect');
  const kids = await Promise.all([a, b].map(m => m.page.evaluate(() =>
    window.veil.events.filter(e => e.type === 'send-key').map(e => e.kid))));
  // the frame key is HKDF(seed, KID) under each sender's own random KID: different KIDs, different keys
  assert.equal(kids[0].length, 1);
  assert.equal(kids[1].length, 1);
  assert.notEqual(kids[0][0], kids[1][0]);
  assert.notEqual(kids[0][0], '0');
});

test('hostile_ghostChurn_cannotKeepALeaversKeyInUse', async (t) => {
  const [a, b, c] = await threeInACall();
  // ghosts join and leave every 300 ms, never acknowledging anything, to keep postponing the re-key
  await server.command('churn-ghosts 300');
  const rotated = await leaveAndAwaitKeysTheLeaverNeverHeld(a, b, c);
  await server.command('pass');
  t.diagnostic(`leave → both on a key the leaver never held, under ghost churn: ${rotated.join(' / ')} ms`);
});

test('hostile_keyMessagesRelabelledAsAGhost_areRefused_andNoKeyIsInstalledForTheGhost', async () => {
  const a = await join(0);
  const ghost = (await server.command('ghost 0')).split(' ')[1];
  await waitFor('alice lists the ghost', async () => ghost in (await view(a.page)).remote);
  await server.command(`relabel 0 ${ghost}`);
  const b = await join(1);
  await waitFor('alice receives 100 video packets of bob', async () => (await videoOf(a, b)).packets > 100, 30000);
  assert.equal((await videoOf(a, b)).decoded, 0, 'bob\'s key never reached alice');
  const keyErrors = await errors(a.page, 'keys');
  assert.ok(keyErrors.some(e => e.from === ghost), JSON.stringify(keyErrors));
  const installed = await a.page.evaluate(g => window.veil.events.filter(e => e.type === 'key-installed'
    && e.senderId === g).length, ghost);
  assert.equal(installed, 0, 'nothing was installed as the ghost\'s key');
});

test('hostile_droppedKeyMessages_areRetransmitted_andDecryptionRecovers', async () => {
  await server.command('drop-e2ee 0 2'); // alice loses the first two key messages sent to her
  const a = await join(0);
  const b = await join(1);
  await decodingEachOther(a, b);
  assert.equal(JSON.parse(await a.page.evaluate(() => JSON.stringify(Object.keys(window.veil.remote)))).length, 1,
    'no membership change was needed');
});

test('hostile_replayedKeyMessages_areRefused_andTheCallWorks', async () => {
  await server.command('duplicate-e2ee');
  const a = await join(0);
  const b = await join(1);
  await decodingEachOther(a, b);
  const keyErrors = await errors(a.page, 'keys');
  assert.ok(keyErrors.some(e => e.reason === 'replay'), JSON.stringify(keyErrors));
});

test('hostile_corruptedAndTruncatedFrames_areDropped_andDecodingResumes', async () => {
  const a = await join(0);
  const b = await join(1);
  await decodingEachOther(a, b);
  await server.command('media corrupt 10'); // past the VP8 clear prefix (10 bytes on key frames) and Opus's 1
  await waitFor('alice reports dropped frames', async () => (await errors(a.page, 'frames')).length > 0, 20000);
  const reasons = new Set((await errors(a.page, 'frames')).map(e => e.reason));
  assert.ok([...reasons].every(r => ['bad-tag', 'truncated', 'bad-header', 'replay', 'no-key'].includes(r)), [...reasons].join());
  await server.command('media pass');
  const before = (await videoOf(a, b)).decoded;
  await waitFor('alice decodes bob again', async () => (await videoOf(a, b)).decoded > before + 10, 30000);
});

test('hostile_replayedFrames_areRefused_andLiveFramesKeepDecoding', async () => {
  const a = await join(0);
  const b = await join(1);
  await decodingEachOther(a, b);
  await server.command('media replay');
  const before = (await videoOf(a, b)).decoded;
  await waitFor('alice reports replays', async () => (await errors(a.page, 'frames')).some(e => e.reason === 'replay'), 20000);
  await waitFor('alice keeps decoding bob during the replay', async () => (await videoOf(a, b)).decoded > before + 10, 30000);
});

/** In-page: the inbound-rtp stats of one SSRC ({framesDecoded, packetsReceived}), null before it has any. */
const inboundOf = (page, ssrc) => page.evaluate(async (s) => {
  const report = await window.veil.conn.pc.getStats();
  let out = null;
  report.forEach(x => {
    if (x.type === 'inbound-rtp' && x.ssrc === s) {
      out = { framesDecoded: x.framesDecoded || 0, packetsReceived: x.packetsReceived || 0 };
    }
  });
  return out;
}, ssrc);

test('hostile_recordedMediaReOfferedOnANewMLine_isRefused_andLiveFramesKeepDecoding', async () => {
  const a = await join(0);
  const b = await join(1);
  await decodingEachOther(a, b);
  // the server re-offers bob a new video m-line labelled as alice (her stream id) and replays on it, next to her
  // live packets, her video packets that it recorded from the start, with a new SSRC and fresh sequence numbers
  const [live, replayed] = (await server.command('reoffer-replay 1 0 video')).split(' ').slice(1).map(Number);
  await waitFor('bob got a second video track labelled alice', () => b.page.evaluate(id => window.veil.conn
    .pc.getTransceivers().filter(t => t.receiver.track.kind === 'video').length >= 2
    && Object.keys(window.veil.remote).includes(id), a.id), 20000);
  const liveBefore = (await inboundOf(b.page, live)).framesDecoded;
  await waitFor('300 replayed packets reached bob on the new m-line',
    async () => ((await inboundOf(b.page, replayed)) || { packetsReceived: 0 }).packetsReceived > 300, 60000);
  const injected = Number((await server.command('injected')).split(' ')[1]);
  assert.ok(injected > 300, `the server replayed ${injected} packets`);
  // prevented: nothing of the replay was decoded; alice's live video went on decoding all along
  assert.equal((await inboundOf(b.page, replayed)).framesDecoded, 0, 'a replayed frame was decoded');
  const liveAfter = (await inboundOf(b.page, live)).framesDecoded;
  assert.ok(liveAfter > liveBefore + 10, `live frames decoded during the replay: ${liveAfter - liveBefore}`);
  const dropped = (await errors(b.page, 'frames')).filter(e => e.from === a.id);
  assert.ok(dropped.some(e => ['replay', 'expired-key'].includes(e.reason)), JSON.stringify(dropped));
  await server.command('pass');
  await waitFor('bob keeps decoding alice', async () => (await inboundOf(b.page, live)).framesDecoded > liveAfter + 10, 30000);
});

test('hostile_framesForgedUnderALeaversOldKeys_areNotDecoded_onceTheBoundHasPassed', async (t) => {
  const a = await join(0);
  const b = await join(1);
  const c = await join(2);
  await decodingEachOther(a, b);
  await decodingEachOther(a, c);
  // carol (colluding with the server) hands it every key of alice's she holds
  const keys = await c.page.evaluate(id => window.veil.conn.e2ee.exportKeysForTesting().receive[id], a.id);
  assert.ok(keys && keys.length > 0, 'carol holds a key of alice');
  const heldGen = keys.reduce((g, k) => Math.max(g, Number(BigInt(k.kid) >> 8n)), -1);
  // the server replaces alice's video to bob, frame by frame, with a key frame of hers that one of those keys
  // opens, encrypted again under it (fresh counters)
  await server.command(`forge 1 0 ${keys.map(k => `${k.kid}:${k.key}`).join(',')}`);
  const forged = async () => Number((await server.command('forged')).split(' ')[1]);
  // the forgery is real: while carol is a member (her key is alice's current one) bob decodes it
  const d0 = (await videoOf(b, a)).decoded;
  await waitFor('bob decodes the forged key frames while carol is a member',
    async () => (await videoOf(b, a)).decoded > d0 + 10, 30000);
  // carol leaves; alice and bob re-key (alice's audio passes: bob hears it under a key carol never held)
  await c.page.evaluate(() => window.veil.conn.disconnect());
  await waitFor('bob decrypts alice under a key carol never held', () => b.page.evaluate(({ id, gen }) =>
    window.veil.events.some(e => e.type === 'key-used' && e.operation === 'decrypt' && e.senderId === id
      && /^\d+$/.test(e.kid) && Number(BigInt(e.kid) >> 8n) > gen), { id: a.id, gen: heldGen }), 20000);
  // the bound (docs/SECURITY.md §2): every key a leaver held expires at most 2 s after the leave is processed;
  // checked 3 s after bob processed it
  const leaveSeen = await b.page.evaluate(id => window.veil.notifies.find(n => n.event_type === 'connection.destroyed'
    && n.connection_id === id)?.time, c.id);
  assert.ok(leaveSeen, 'bob processed carol\'s leave');
  const wait = leaveSeen + 3000 - await b.page.evaluate(() => performance.timeOrigin + performance.now());
  if (wait > 0) await new Promise(r => setTimeout(r, wait));
  const d1 = (await videoOf(b, a)).decoded;
  const f1 = await forged();
  await waitFor('60 more forged frames reached bob', async () => (await forged()) >= f1 + 60, 30000);
  assert.equal((await videoOf(b, a)).decoded, d1, 'a frame forged under carol\'s old key was decoded after the bound');
  const dropped = (await errors(b.page, 'frames')).filter(e => e.from === a.id);
  assert.ok(dropped.some(e => ['expired-key', 'no-key', 'bad-tag', 'replay'].includes(e.reason)), JSON.stringify(dropped));
  // and bob takes alice's live video again once the server stops
  await server.command('media pass');
  await waitFor('bob decodes alice\'s live video again', async () => (await videoOf(b, a)).decoded > d1 + 10, 30000);
  t.diagnostic(`forged frames decoded before the leave: ${d1 - d0}; after the bound: 0 of ${(await forged()) - f1}`);
});

test('hostile_delayedKeyMessages_cannotPostponeTheReKey_andTheCallWorks', async (t) => {
  // every key message (so every KEY and every acknowledgement) is delivered 700 ms late, in order
  await server.command('delay-e2ee 700');
  const [a, b, c] = await threeInACall();
  await decodingEachOther(a, b);
  const rotated = await leaveAndAwaitKeysTheLeaverNeverHeld(a, b, c);
  const before = [(await videoOf(a, b)).decoded, (await videoOf(b, a)).decoded];
  await waitFor('alice and bob decode each other under the new keys', async () => (await videoOf(a, b)).decoded
    > before[0] + 10 && (await videoOf(b, a)).decoded > before[1] + 10, 30000);
  t.diagnostic(`leave → both on a key the leaver never held, key messages 700 ms late: ${rotated.join(' / ')} ms`);
});

test('hostile_reorderedKeyMessages_areHandled_theCallWorks_andALeaveStillReKeys', async (t) => {
  // to every member, every two key messages are delivered swapped
  await server.command('reorder-e2ee');
  const [a, b, c] = await threeInACall();
  await decodingEachOther(a, b);
  await decodingEachOther(a, c);
  await decodingEachOther(b, c);
  const rotated = await leaveAndAwaitKeysTheLeaverNeverHeld(a, b, c);
  const before = [(await videoOf(a, b)).decoded, (await videoOf(b, a)).decoded];
  await waitFor('alice and bob decode each other under the new keys', async () => (await videoOf(a, b)).decoded
    > before[0] + 10 && (await videoOf(b, a)).decoded > before[1] + 10, 30000);
  t.diagnostic(`leave → both on a key the leaver never held, key messages reordered: ${rotated.join(' / ')} ms`);
});
