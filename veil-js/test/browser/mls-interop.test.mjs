// The MLS key mode (docs/PROTOCOL.md §4) between the browser SDK (keyMode: 'mls', ts-mls) and the Java SDK
// (Options.e2eeMls(), bcmls) in headless Chromium against a real veil-server.jar: the Java example participant Echo
// (--mls) re-sends every Opus frame it decrypted under its own MLS-exported SFrame key, so a page that hears audio on
// Echo's track proves Java decrypted the browser's frames and the browser decrypted Java's.
//   1. Java founds the group, a browser joins (Java commits the add, the browser joins from Java's Welcome).
//   2. A browser founds the group, Java joins from the browser's Welcome, a second browser joins (a mixed group of
//      three), then Java leaves: after each step every member shows the same epoch, verification code and MLS
//      roster; the pages see each other's picture and hear Java; after the leave the pages keep decoding each other
//      in the new epoch.
//   3. Java founds, two browsers join by Java's commits (a page applies a Java commit in a group of three), then the
//      Java founder leaves: the first page (now the lowest leaf) commits its removal and both pages go on decoding
//      each other in epoch 3.
//   4. The server as external sender: Echo founds naming it and with a device key; two pages join by the server's
//      Add proposals (page a caches the one adding b), device fingerprints agree both ways, a data message goes
//      page -> Java -> page in MLS mode, and Echo's leave is the server's Remove proposal committed by page a.
//   5. The default key mode (issue 13): two pages with {e2ee: true} only run MLS and decode each other, Echo with
//      no mode flag (Options.e2ee()) joins them in MLS; a passphrase keeps sender keys, and a default page joining
//      that sender-keys channel is refused with key_mode_mismatch (never switched to the channel's mode).
import { test, before, after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { startServer, waitFor } from '../../test-support/helpers/server.mjs';
import { launchChromium } from '../../test-support/helpers/browser.mjs';
import { spawnEcho, stopAllAndCheck } from '../../test-support/helpers/java.mjs';
import {
  openSmallStreamPage, joinE2eeInPage, e2eeStatsInPage, remoteColourInPage, closeColour,
} from '../../test-support/browser/e2ee-pages.mjs';

/** Generous: the machine is shared and loaded; nothing here asserts a duration. */
const WAIT = 90000;
const MLS = { keyMode: 'mls' };
const RED = [220, 40, 40];
const BLUE = [40, 60, 220];
let server;
let browser;
const echoes = [];

before(async () => {
  server = await startServer({ config: 'e2ee = true' });
  browser = await launchChromium();
});

after(() => stopAllAndCheck({ echoes, browser, server }));

/** In-page: the MLS view of the connection. */
function mlsViewInPage() {
  const c = window.veil.conn;
  return { keyMode: c.e2eeKeyMode, epoch: c.e2eeEpoch, code: c.e2eeVerificationCode, roster: c.e2eeRoster,
    id: c.connectionId };
}

async function startEcho(channel, { defaultMode = false } = {}) {
  const echo = await spawnEcho({ ws: server.ws, channel, mls: !defaultMode });
  echoes.push(echo);
  const fail = e => { throw new Error(`${e.message}\n${echo.output()}`); };
  await waitFor('Echo connected', () => echo.state.id || (echo.state.exitCode !== null
    ? Promise.reject(new Error(`Echo exited with ${echo.state.exitCode}`)) : null), WAIT).catch(fail);
  return { echo, fail };
}

/** Waits until the pages and Echo (if given) all show one epoch ≥ minEpoch, one code and the roster `ids`. */
async function agreed(what, pages, echo, ids, minEpoch, fail) {
  let seen = null;
  return waitFor(what, async () => {
    const views = [];
    for (const p of pages) views.push(await p.evaluate(mlsViewInPage));
    const java = echo ? echo.state.mls[echo.state.mls.length - 1] : null;
    seen = { views, java };
    const v0 = views[0];
    if (v0.epoch < minEpoch || !v0.code) return null;
    for (const v of views) {
      if (v.epoch !== v0.epoch || v.code !== v0.code || [...v.roster].sort().join() !== [...ids].sort().join()) return null;
    }
    if (java && (java.epoch !== v0.epoch || java.code !== v0.code || [...java.members].sort().join() !== [...ids].sort().join())) {
      return null;
    }
    if (echo && !java) return null;
    return v0;
  }, WAIT).catch(e => fail(new Error(`${e.message}; seen ${JSON.stringify(seen)}`)));
}

/** Waits until `page` hears non-silent audio on `fromId`'s track, growing past `after` packets. */
async function hears(what, page, fromId, after = 0, fail) {
  return waitFor(what, async () => {
    const s = (await page.evaluate(e2eeStatsInPage))[fromId];
    return s && s.audio && s.audio.packetsReceived > after + 25 && s.audio.totalAudioEnergy > 0 ? s.audio : null;
  }, WAIT).catch(async e => fail(new Error(`${e.message}; events ${JSON.stringify(
    (await page.evaluate(() => window.veil.events)).filter(x => x.type === 'error' || x.type === 'mls-epoch').slice(-12))}`)));
}

/** Waits until `page` decodes `fromId`'s video showing `rgb`, more than `after` frames. */
async function sees(what, page, fromId, rgb, after = 0) {
  let got = null;
  return waitFor(what, async () => {
    const s = (await page.evaluate(e2eeStatsInPage))[fromId];
    got = { decoded: s && s.video ? s.video.framesDecoded : 0, colour: await page.evaluate(remoteColourInPage, fromId) };
    return got.decoded > after + 10 && closeColour(got.colour, rgb, 45) ? got : null;
  }, WAIT).catch(e => { throw new Error(`${e.message}; got ${JSON.stringify(got)}`); });
}

/** Frame errors of `page` other than 'no-key' (early frames before the key) for frames from `fromId`. */
async function hardFrameErrors(page, fromId) {
  const events = await page.evaluate(() => window.veil.events);
  return events.filter(e => e.type === 'error' && (e.source === 'mls' || e.source === 'worker'
    || (e.senderId === fromId && !/^(no-key|expired-key)$/.test(e.reason))));
}

test('mlsInterop_javaFoundsTheGroup_browserJoinsFromJavasWelcome_sameEpochAndCode_pageHearsItselfThroughJava', async t => {
  const channel = 'mls-interop-java-first';
  const { echo, fail } = await startEcho(channel);
  await waitFor('Echo founded the group (epoch 0)', () => echo.state.mls.length > 0, WAIT).catch(fail);
  assert.equal(echo.state.mls[0].epoch, 0);
  assert.deepEqual(echo.state.mls[0].members, [echo.state.id]);

  const page = await openSmallStreamPage(browser, server.base);
  const pageId = await page.evaluate(joinE2eeInPage, { ws: server.ws, channel, rgb: RED, hz: 440, name: 'page', options: MLS });
  const v = await agreed('the page and Java agree on epoch 1, code and roster', [page], echo, [echo.state.id, pageId], 1, fail);
  assert.equal(v.keyMode, 'mls');
  assert.equal(v.epoch, 1, 'Java committed the add: one commit');
  assert.match(v.code, /^(\d{5} ){5}\d{5}$/);
  assert.notEqual(v.code, echo.state.mls[0].code, 'the code changed with the epoch');

  // media both ways: the page hears its oscillator on Echo's track (Java decrypted it and re-encrypted it)
  const audio = await hears('the page hears audio on Echo\'s track', page, echo.state.id, 0, fail);
  const events = await page.evaluate(() => window.veil.events);
  const installed = events.filter(e => e.type === 'key-installed' && e.senderId === echo.state.id).map(e => e.kid);
  const used = events.filter(e => e.type === 'key-used' && e.operation === 'decrypt' && e.senderId === echo.state.id);
  assert.ok(used.length > 0 && used.every(e => installed.includes(e.kid)), `decrypted under Echo's MLS KIDs ${installed}`);
  // Echo's KID: its leaf index (0, it founded the group) above the epoch's 8 bits
  assert.ok(used.some(e => BigInt(e.kid) === 1n), `Echo's KID of epoch 1 is (0 << 8) + 1: ${used.map(e => e.kid)}`);
  assert.deepEqual(await hardFrameErrors(page, echo.state.id), []);
  assert.ok(echo.state.errors.every(e => /^no[-_]key$/i.test(e.reason)), `Echo's errors: ${JSON.stringify(echo.state.errors)}`);
  assert.equal(echo.state.disconnected, null);
  await page.evaluate(() => window.veil.conn.disconnect());
  await page.context().close();
  await echo.stop();
  t.diagnostic(`Java founded, browser joined: epoch ${v.epoch}, code ${v.code}; ${audio.packetsReceived} audio packets back from Java`);
});

test('mlsInterop_browserFounds_javaJoins_secondBrowserJoins_javaLeaves_allAgreeAndDecodeEachOther', async t => {
  const channel = 'mls-interop-mixed';
  const a = await openSmallStreamPage(browser, server.base);
  const aId = await a.evaluate(joinE2eeInPage, { ws: server.ws, channel, rgb: RED, hz: 440, name: 'a', options: MLS });
  const noFail = e => { throw e; };
  const v0 = await agreed('the first page founds the group', [a], null, [aId], 0, noFail);
  assert.equal(v0.epoch, 0);

  // Java joins from the browser's Welcome
  const { echo, fail } = await startEcho(channel);
  const v1 = await agreed('the page and Java agree (2 members)', [a], echo, [aId, echo.state.id], 1, fail);
  assert.equal(v1.epoch, 1);
  await hears('page a hears itself back through Java', a, echo.state.id, 0, fail);

  // a second browser: a mixed group of three
  const b = await openSmallStreamPage(browser, server.base);
  const bId = await b.evaluate(joinE2eeInPage, { ws: server.ws, channel, rgb: BLUE, hz: 660, name: 'b', options: MLS });
  const v2 = await agreed('two pages and Java agree (3 members)', [a, b], echo, [aId, bId, echo.state.id], 2, fail);
  assert.equal(v2.epoch, 2);
  assert.notEqual(v2.code, v1.code);
  const aSeesB = await sees('page a sees page b (blue)', a, bId, BLUE);
  const bSeesA = await sees('page b sees page a (red)', b, aId, RED);
  await hears('page b hears Java', b, echo.state.id, 0, fail);
  await hears('page a hears b', a, bId, 0, fail);
  const beforeLeave = (await a.evaluate(e2eeStatsInPage))[bId].video.framesDecoded;

  // Java leaves: the founder page commits its removal; both pages move to epoch 3 and keep decoding each other
  await echo.stop();
  const v3 = await agreed('the pages agree after Java left', [a, b], null, [aId, bId], 3, noFail);
  assert.equal(v3.epoch, 3);
  assert.notEqual(v3.code, v2.code);
  const aAfter = await sees('page a still sees b in the new epoch', a, bId, BLUE, beforeLeave);
  await sees('page b still sees a in the new epoch', b, aId, RED, bSeesA.decoded);
  // b's frames under the epoch-3 KID reached a: the KID of b's leaf with epoch bits 3
  const events = await a.evaluate(() => window.veil.events);
  const epochs = events.filter(e => e.type === 'mls-epoch').map(e => e.epoch);
  assert.deepEqual(epochs, [0, 1, 2, 3], 'page a went through every epoch once');
  const bKids = events.filter(e => e.type === 'key-used' && e.operation === 'decrypt' && e.senderId === bId).map(e => BigInt(e.kid));
  assert.ok(bKids.some(k => (k & 0xffn) === 3n), `a decrypted b under an epoch-3 KID: ${bKids}`);
  for (const [p, others] of [[a, [bId, echo.state.id]], [b, [aId, echo.state.id]]]) {
    for (const o of others) assert.deepEqual(await hardFrameErrors(p, o), []);
  }
  assert.ok(echo.state.errors.every(e => /^no[-_]key$/i.test(e.reason)), `Echo's errors: ${JSON.stringify(echo.state.errors)}`);
  for (const p of [a, b]) {
    await p.evaluate(() => window.veil.conn.disconnect());
    await p.context().close();
  }
  t.diagnostic(`mixed group: codes e1 ${v1.code}, e2 ${v2.code}, e3 ${v3.code}; a decoded ${aSeesB.decoded} then `
    + `${aAfter.decoded} frames of b`);
});

test('mlsInterop_javaFounds_twoBrowsersJoinByJavaCommits_founderLeaves_browserCommitsItsRemoval', async t => {
  // (one Java member only: two Echo participants would echo each other's frames back and forth without end)
  const channel = 'mls-interop-java-founder-leaves';
  const { echo, fail } = await startEcho(channel);
  await waitFor('Echo founded the group', () => echo.state.mls.length > 0, WAIT).catch(fail);
  const a = await openSmallStreamPage(browser, server.base);
  const aId = await a.evaluate(joinE2eeInPage, { ws: server.ws, channel, rgb: RED, hz: 440, name: 'a', options: MLS });
  await agreed('page a joined the Java group', [a], echo, [echo.state.id, aId], 1, fail);
  // page b: Java (leaf 0) commits its add; page a applies Java's commit
  const b = await openSmallStreamPage(browser, server.base);
  const bId = await b.evaluate(joinE2eeInPage, { ws: server.ws, channel, rgb: BLUE, hz: 660, name: 'b', options: MLS });
  const v2 = await agreed('both pages and Java agree (3 members)', [a, b], echo, [echo.state.id, aId, bId], 2, fail);
  await hears('page b hears Java', b, echo.state.id, 0, fail);
  const bSeesA = await sees('page b sees page a', b, aId, RED);
  // the founder leaves: page a is the lowest leaf now and commits the removal; page b applies a browser's commit
  await echo.stop();
  const v3 = await agreed('the pages agree after the Java founder left', [a, b], null, [aId, bId], 3, e => { throw e; });
  assert.notEqual(v3.code, v2.code);
  const aEpochs = (await a.evaluate(() => window.veil.events)).filter(e => e.type === 'mls-epoch').map(e => e.epoch);
  assert.deepEqual(aEpochs, [1, 2, 3], 'page a joined at epoch 1 and went through every later epoch once');
  const after = await sees('page b keeps seeing page a in epoch 3', b, aId, RED, bSeesA.decoded);
  await sees('page a sees page b in epoch 3', a, bId, BLUE);
  const kids = (await b.evaluate(() => window.veil.events))
    .filter(e => e.type === 'key-used' && e.operation === 'decrypt' && e.senderId === aId).map(e => BigInt(e.kid));
  assert.ok(kids.includes((1n << 8n) + 3n), `b decrypted a (leaf 1) under its epoch-3 KID 259: ${kids}`);
  for (const [p, others] of [[a, [bId, echo.state.id]], [b, [aId, echo.state.id]]]) {
    for (const o of others) assert.deepEqual(await hardFrameErrors(p, o), []);
  }
  for (const p of [a, b]) {
    await p.evaluate(() => window.veil.conn.disconnect());
    await p.context().close();
  }
  t.diagnostic(`Java founder left: e2 ${v2.code}, e3 ${v3.code}; b decoded ${after.decoded} frames of a`);
});

test('mlsInterop_serverAsExternalSender_browsersTakeItsProposals_deviceFingerprintsAndDataInMlsMode', async t => {
  // Echo founds naming the server (docs/PROTOCOL.md §4.8), with a device key (§4.9); page a has a persistent device
  // identity. Joins: Echo commits the server's Add proposals by reference, page a caches the one adding b. Leave:
  // the server proposes Echo's removal, page a (lowest live leaf) commits it by reference, page b applies it.
  const channel = 'mls-interop-external-sender';
  const dir = mkdtempSync(path.join(tmpdir(), 'veil-mls-dev-'));
  const echo = await spawnEcho({ ws: server.ws, channel, mls: true, mlsExternalSender: true,
    deviceKey: path.join(dir, 'device.key') });
  echoes.push(echo);
  const fail = e => { throw new Error(`${e.message}\n${echo.output()}`); };
  await waitFor('Echo founded the group', () => echo.state.mls.length > 0 && echo.state.device, WAIT).catch(fail);
  const a = await openSmallStreamPage(browser, server.base);
  const aId = await a.evaluate(joinE2eeInPage, { ws: server.ws, channel, rgb: RED, hz: 440, name: 'a',
    options: { ...MLS, e2eePersistentIdentity: { dbName: 'mls-interop-a' } } });
  await a.evaluate(() => {
    window.veil.data = [];
    window.veil.conn.on('data', ev => window.veil.data.push({ from: ev.from, data: ev.data }));
  });
  await agreed('page a joined by the server\'s proposal', [a], echo, [echo.state.id, aId], 1,
    async e => fail(new Error(`${e.message}; page a's events ${JSON.stringify(await a.evaluate(() =>
      window.veil.events.filter(x => x.type === 'error')))}`)));
  const b = await openSmallStreamPage(browser, server.base);
  const bId = await b.evaluate(joinE2eeInPage, { ws: server.ws, channel, rgb: BLUE, hz: 660, name: 'b', options: MLS });
  const v2 = await agreed('both pages and Java agree (3 members)', [a, b], echo, [echo.state.id, aId, bId], 2, fail);
  assert.ok(await a.evaluate(() => window.veil.conn.e2ee.proposalsCached) >= 1, 'page a took the server\'s Add of b');

  // device fingerprints: each side shows the other's, as the other computes it
  const aFp = await a.evaluate(() => window.veil.conn.e2eeDeviceFingerprint);
  assert.match(aFp, /\S/);
  await waitFor('Echo shows page a\'s device fingerprint', () => echo.state.members[aId] === aFp, WAIT).catch(fail);
  const aPeers = await a.evaluate(() => window.veil.conn.e2eePeers);
  assert.equal(aPeers.find(p => p.connectionId === echo.state.id).deviceFingerprint, echo.state.device);
  assert.equal(aPeers.find(p => p.connectionId === bId).deviceFingerprint, null, 'b has no device identity');

  // a data message in MLS mode, browser -> Java -> browser (Echo answers the sender only)
  const reply = await waitFor('Echo\'s reply in MLS mode', async () => {
    const got = await a.evaluate(() => window.veil.data.find(d => d.data === 'echo: mls data from a'));
    if (!got) await a.evaluate(to => window.veil.conn.sendData('mls data from a', { to }), echo.state.id);
    return got;
  }, WAIT, 1000).catch(fail);
  assert.equal(reply.from, echo.state.id);
  assert.ok(echo.state.data.some(d => d.from === aId && d.text === 'mls data from a'), 'Java opened the page\'s message');
  await hears('page b hears Java', b, echo.state.id, 0, fail);

  // Echo leaves: the server proposes its removal, page a commits it by reference
  await echo.stop();
  const v3 = await agreed('the pages agree after Echo left', [a, b], null, [aId, bId], 3, e => { throw e; });
  assert.notEqual(v3.code, v2.code);
  assert.ok(await b.evaluate(() => window.veil.conn.e2ee.proposalsCached) >= 1, 'page b took the server\'s Remove');
  await sees('page b sees page a in epoch 3', b, aId, RED);
  for (const [p, others] of [[a, [bId, echo.state.id]], [b, [aId, echo.state.id]]]) {
    for (const o of others) assert.deepEqual(await hardFrameErrors(p, o), []);
  }
  assert.ok(echo.state.errors.every(e => /^no[-_]key$/i.test(e.reason)), `Echo's errors: ${JSON.stringify(echo.state.errors)}`);
  for (const p of [a, b]) {
    await p.evaluate(() => window.veil.conn.disconnect());
    await p.context().close();
  }
  rmSync(dir, { recursive: true, force: true });
  t.diagnostic(`external sender: e2 ${v2.code}, e3 ${v3.code}; page a device ${aFp}`);
});

test('mls: an unknown keyMode is refused with a clear error; keyMode mls excludes passphrase mode', async () => {
  const page = await openSmallStreamPage(browser, server.base);
  const errs = await page.evaluate(async (ws) => {
    const { default: Veil } = await import('/sdk/veil.js');
    const out = [];
    for (const o of [{ e2ee: true, keyMode: 'mls2' }, { e2ee: true, keyMode: 'mls', passphrase: 'p' }, { keyMode: 'mls' }]) {
      try {
        Veil.connection(ws).sendrecv('mls-bad', null, o);
        out.push(null);
      } catch (e) {
        out.push({ reason: e.reason, message: e.message });
      }
    }
    const ok = Veil.connection(ws).sendrecv('mls-good', null, { e2ee: true, keyMode: 'mls' });
    out.push({ keyMode: ok.e2eeKeyMode, epoch: ok.e2eeEpoch });
    return out;
  }, server.ws);
  assert.equal(errs[0].reason, 'bad-argument');
  assert.match(errs[0].message, /unknown keyMode 'mls2' \(expected 'sender-keys' or 'mls'\)/);
  assert.match(errs[1].message, /no passphrase/);
  assert.match(errs[2].message, /needs e2ee: true/);
  assert.deepEqual(errs[3], { keyMode: 'mls', epoch: -1 });
  await page.context().close();
});

test('mlsDefault_e2eeTrueAlone_runsMls_pagesAndDefaultJavaDecodeEachOther_passphraseKeepsSenderKeys_mixRefused', async t => {
  const channel = 'mls-default';
  const DEFAULT = { keyMode: null }; // no keyMode: the SDK's default (joinE2eeInPage otherwise picks sender keys)
  const a = await openSmallStreamPage(browser, server.base);
  const aId = await a.evaluate(joinE2eeInPage, { ws: server.ws, channel, rgb: RED, hz: 440, name: 'a', options: DEFAULT });
  const b = await openSmallStreamPage(browser, server.base);
  const bId = await b.evaluate(joinE2eeInPage, { ws: server.ws, channel, rgb: BLUE, hz: 660, name: 'b', options: DEFAULT });
  const noFail = e => { throw e; };
  const v1 = await agreed('two default pages agree on an MLS epoch', [a, b], null, [aId, bId], 1, noFail);
  assert.equal(v1.keyMode, 'mls');
  assert.equal((await b.evaluate(mlsViewInPage)).keyMode, 'mls');
  await sees('page a sees page b (blue)', a, bId, BLUE);
  await sees('page b sees page a (red)', b, aId, RED);
  // the Java SDK's default (Echo without --mls): it joins the same MLS group
  const { echo, fail } = await startEcho(channel, { defaultMode: true });
  await agreed('the pages and default Java agree (3 members)', [a, b], echo, [aId, bId, echo.state.id], 2, fail);
  await hears('page a hears itself back through Java', a, echo.state.id, 0, fail);
  await echo.stop();

  // a passphrase (which MLS cannot do) keeps sender keys; that channel then refuses a default (MLS) member
  const p = await openSmallStreamPage(browser, server.base);
  await p.evaluate(joinE2eeInPage, { ws: server.ws, channel: 'mls-default-pp', rgb: RED, hz: 440, name: 'p',
    options: { keyMode: null, passphrase: 'correct horse battery' } });
  assert.deepEqual(await p.evaluate(() => [window.veil.conn.e2eeKeyMode, window.veil.conn.e2eeEpoch]),
    ['sender-keys', null]);
  const mixed = await a.evaluate(async (ws) => {
    const { default: Veil } = await import('/sdk/veil.js');
    const c = Veil.connection(ws).recvonly('mls-default-pp', null, { e2ee: true });
    try {
      await c.connect();
      return { joined: true, keyMode: c.e2eeKeyMode };
    } catch (e) {
      return { message: e.message, keyMode: c.e2eeKeyMode };
    }
  }, server.ws);
  assert.equal(mixed.keyMode, 'mls', 'the newcomer was not switched to the channel\'s mode');
  assert.match(mixed.message || '', /key_mode_mismatch: channel mls-default-pp uses the 'sender-keys' key mode/);
  for (const x of [a, b, p]) {
    await x.evaluate(() => window.veil.conn.disconnect());
    await x.context().close();
  }
  t.diagnostic(`default pages at epoch ${v1.epoch}, code ${v1.code}`);
});
