// Verification people can use, in headless Chromium through the demo page: a persistent device identity (a
// non-extractable Ed25519 key in IndexedDB) whose fingerprint is the same on two connections of one profile;
// marking a peer's device fingerprint (and the room code) verified; then someone joining under the same display
// name from a new profile (a new device key) fires 'verification-lost' and the demo shows the warning.
// Per-peer device verification is the sender-keys mode's (the MLS mode verifies the epoch's room code), so the
// demo runs with "/?keyMode=sender-keys" here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { startServer, waitFor } from '../../test-support/helpers/server.mjs';
import { launchChromium } from '../../test-support/helpers/browser.mjs';
import { smallStreamSource } from '../../test-support/browser/e2ee-pages.mjs';

const SHOTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../screenshots');
const FP = /^([0-9a-f]{4} ){15}[0-9a-f]{4}$/;
let server;
let browser;

before(async () => {
  server = await startServer({ config: 'e2ee = true' });
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

/** A new browser profile (its own IndexedDB) with the demo page open. */
async function profile(rgb) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 760 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.addInitScript(`${smallStreamSource()}\nwindow.veilDemoStream = () => window.makeSmallStream(${JSON.stringify(rgb)}, 440);`);
  await page.goto(server.base + '/?keyMode=sender-keys');
  return { context, page };
}

async function join(page, channel, name) {
  await page.fill('#channel', channel);
  await page.fill('#name', name);
  await page.click('#joinBtn');
  await waitFor(`${name} connected`, () => page.evaluate(() => !document.getElementById('leaveBtn').disabled));
  await page.evaluate(() => {
    window.lost = window.lost || [];
    window.veilDemo.conn.on('e2ee', (e) => { if (e.type === 'verification-lost') window.lost.push(e); });
  });
  return page.evaluate(() => ({
    id: window.veilDemo.conn.connectionId,
    device: window.veilDemo.conn.e2eeDeviceFingerprint,
    self: window.veilDemo.conn.e2eeSelfFingerprint,
    shownDevice: document.getElementById('deviceFp').textContent,
  }));
}

async function leave(page) {
  await page.click('#leaveBtn');
  await waitFor('left', () => page.evaluate(() => document.getElementById('joinBtn').disabled === false));
}

const peersOf = (page) => page.evaluate(() => [...document.querySelectorAll('#peers li[data-connection-id]')].map((li) => ({
  id: li.dataset.connectionId,
  who: li.querySelector('.who').textContent,
  source: li.querySelector('.source').textContent,
  device: li.querySelector('.device-fp').dataset.deviceFingerprint,
  verified: li.dataset.verified === 'true',
})));

test('persistentIdentity_stableAcrossConnections_markVerified_thenNewProfileSameName_warns', async (t) => {
  const channel = 'verify-demo';
  const alice = await profile([220, 60, 50]);
  const bob = await profile([40, 110, 220]);
  const a = await join(alice.page, channel, 'Alice');
  assert.match(a.device, FP);
  assert.equal(a.shownDevice, a.device);

  // Bob's device fingerprint is the same on two connections of his profile; his per-call one is not
  const b1 = await join(bob.page, channel, 'Bob');
  assert.match(b1.device, FP);
  const seen1 = await waitFor('Alice sees Bob\'s device certificate', async () => {
    const p = await peersOf(alice.page);
    return p.length === 1 && p[0].device ? p[0] : null;
  });
  assert.equal(seen1.device, b1.device, 'the device fingerprint Alice shows is Bob\'s own');
  assert.equal(seen1.who, 'Bob');
  assert.match(seen1.source, /name from the server · not verified/);
  assert.equal(seen1.verified, false);
  await leave(bob.page);
  const b2 = await join(bob.page, channel, 'Bob');
  assert.equal(b2.device, b1.device, 'same profile: same device fingerprint');
  assert.notEqual(b2.self, b1.self, 'a fresh connection identity per call');
  t.diagnostic(`Bob's device fingerprint on both connections: ${b2.device}`);

  // Alice marks Bob's device verified (the button) and the room code verified
  const seen2 = await waitFor('Alice sees Bob again', async () => {
    const p = await peersOf(alice.page);
    return p.length === 1 && p[0].id === b2.id && p[0].device ? p[0] : null;
  });
  assert.equal(seen2.device, b1.device);
  await alice.page.click(`#peers li[data-connection-id="${b2.id}"] button.verify`);
  const verified = await waitFor('Bob shown verified', async () => {
    const p = await peersOf(alice.page);
    return p.length === 1 && p[0].verified ? p[0] : null;
  });
  assert.match(verified.source, /✓ verified \(as Bob\)/);
  await waitFor('codes agree', async () => {
    const [x, y] = await Promise.all([alice.page, bob.page].map((p) => p.evaluate(() => window.veilDemo.conn.e2eeVerificationCode)));
    return x && x === y;
  });
  await alice.page.click('#verifyRoom');
  await waitFor('room shown verified', () => alice.page.evaluate(() => document.getElementById('roomState').textContent === '✓ verified'));
  assert.deepEqual(await alice.page.evaluate(() => window.lost), []);
  await leave(bob.page);

  // a new profile (a cleared IndexedDB: a new device key) joins under the same display name
  const impostor = await profile([40, 110, 220]);
  const c = await join(impostor.page, channel, 'Bob');
  assert.match(c.device, FP);
  assert.notEqual(c.device, b1.device);
  const lost = await waitFor('verification-lost for the peer', async () => {
    const l = await alice.page.evaluate(() => window.lost);
    return l.find((e) => e.scope === 'peer') ? l : null;
  });
  const peer = lost.find((e) => e.scope === 'peer');
  assert.equal(peer.reason, 'device-changed');
  assert.equal(peer.name, 'Bob');
  assert.equal(peer.connectionId, c.id);
  assert.deepEqual(peer.verifiedFingerprints, [b1.device]);
  assert.equal(peer.deviceFingerprint, c.device);
  assert.ok(lost.some((e) => e.scope === 'room'), 'the verified room code changed too');
  const warning = await waitFor('the demo warns', async () => {
    const w = await alice.page.evaluate(() => document.getElementById('warning').textContent);
    return /not the device you verified/.test(w) ? w : null;
  });
  assert.match(warning, /Bob/);
  const shown = (await peersOf(alice.page))[0];
  assert.equal(shown.verified, false);
  assert.match(shown.source, /⚠ not the device you verified/);
  await alice.page.screenshot({ path: path.join(SHOTS, 'verify-warning-alice.png') });

  // Bob's own profile again: recognised as verified, no new alarm for him
  await leave(impostor.page);
  const b3 = await join(bob.page, channel, 'Bob');
  const back = await waitFor('Bob verified again', async () => {
    const p = await peersOf(alice.page);
    return p.length === 1 && p[0].id === b3.id && p[0].verified ? p[0] : null;
  });
  assert.equal(back.device, b1.device);
  assert.equal((await alice.page.evaluate(() => window.lost)).filter((e) => e.scope === 'peer').length, 1);

  // Alice's verification is remembered in her profile: after she reloads and rejoins, Bob is verified at once
  await leave(alice.page);
  await alice.page.reload();
  const a2 = await join(alice.page, channel, 'Alice');
  assert.equal(a2.device, a.device, 'Alice keeps her device fingerprint across a reload');
  const remembered = await waitFor('Bob verified from IndexedDB', async () => {
    const p = await peersOf(alice.page);
    return p.length === 1 && p[0].verified ? p[0] : null;
  });
  assert.equal(remembered.device, b1.device);
  assert.match(remembered.source, /✓ verified \(as Bob\)/);
  for (const x of [alice, bob, impostor]) await x.context.close();
});

test('persistentIdentity_privateKeyInIndexedDbIsNonExtractable', async () => {
  const { context, page } = await profile([1, 2, 3]);
  await join(page, 'verify-idb', 'Solo');
  const r = await page.evaluate(async () => {
    const db = await new Promise((resolve, reject) => {
      const o = indexedDB.open('veil-e2ee');
      o.onsuccess = () => resolve(o.result);
      o.onerror = () => reject(o.error);
    });
    const rec = await new Promise((resolve, reject) => {
      const q = db.transaction('device').objectStore('device').get('device');
      q.onsuccess = () => resolve(q.result);
      q.onerror = () => reject(q.error);
    });
    let exported = null;
    try {
      await crypto.subtle.exportKey('pkcs8', rec.privateKey);
      exported = 'exported';
    } catch (e) {
      exported = e.name;
    }
    return { algorithm: rec.privateKey.algorithm.name, extractable: rec.privateKey.extractable, exported };
  });
  assert.deepEqual(r, { algorithm: 'Ed25519', extractable: false, exported: 'InvalidAccessError' });
  await context.close();
});
