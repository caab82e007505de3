// The demo app at "/" in headless Chromium: two pages join one E2EE channel through its form; each shows the
// E2EE badge, its own fingerprint, the other's fingerprint (which is the other's own) and the same verification
// code. The demo runs the SDK's default key mode, MLS (a member joins once a Welcome came: the waits allow for
// that). Screenshots go to veil-js/screenshots/ (git-ignored).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { startServer, waitFor } from '../../test-support/helpers/server.mjs';
import { launchChromium } from '../../test-support/helpers/browser.mjs';
import { smallStreamSource } from '../../test-support/browser/e2ee-pages.mjs';

const SHOTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../screenshots');
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

/** Generous: MLS joins wait for the group's Welcome; on a loaded machine that can take seconds. */
const WAIT_MS = 60000;
const PEOPLE = [{ name: 'Alice', rgb: [220, 60, 50] }, { name: 'Bob', rgb: [40, 110, 220] }];

test('demo_twoPagesJoinE2ee_showBadgeFingerprintsAndOneCode', async () => {
  const pages = [];
  for (const p of PEOPLE) {
    const context = await browser.newContext({ viewport: { width: 1200, height: 720 } });
    const page = await context.newPage();
    page.on('pageerror', e => console.error('page error:', e.message));
    await page.addInitScript(`${smallStreamSource()}\nwindow.veilDemoStream = () => window.makeSmallStream(${JSON.stringify(p.rgb)}, 440);\n`
      + `window.veilDemoScreenTrack = () => window.makeSmallStream([250, 250, 250], 300).getVideoTracks()[0];`);
    await page.goto(server.base + '/');
    await page.fill('#channel', 'demo-e2ee');
    await page.fill('#name', p.name);
    await page.click('#joinBtn');
    await waitFor(`${p.name} connected`, () => page.evaluate(() => !document.getElementById('leaveBtn').disabled),
      WAIT_MS);
    pages.push(page);
  }
  const read = page => page.evaluate(() => ({
    badge: document.getElementById('badge').textContent,
    code: document.getElementById('code').textContent,
    self: document.getElementById('selfFp').textContent,
    device: window.veilDemo.conn.e2eeDeviceFingerprint,
    peers: [...document.querySelectorAll('#peers li[data-connection-id]')].map(li => ({
      id: li.dataset.connectionId, who: li.querySelector('.who').textContent, fp: li.querySelector('.fp-block').dataset.fingerprint })),
    id: window.veilDemo.conn.connectionId,
    sdkCode: window.veilDemo.conn.e2eeVerificationCode,
    keyMode: window.veilDemo.conn.e2eeKeyMode,
    epoch: window.veilDemo.conn.e2eeEpoch,
    videoPlaying: [...document.querySelectorAll('figure[id^="peer-"] video')].some(v => v.videoWidth > 0 && !v.paused),
  }));
  const views = await waitFor('both pages show one code, each other and the remote video', async () => {
    const v = await Promise.all(pages.map(read));
    return v.every(x => x.peers.length === 1 && x.peers[0].fp && x.videoPlaying && /\d{5}/.test(x.code)) && v[0].code === v[1].code ? v : null;
  }, WAIT_MS);
  for (let i = 0; i < 2; i++) {
    const me = views[i];
    const other = views[1 - i];
    assert.match(me.badge, /E2EE · MLS/);
    assert.equal(me.keyMode, 'mls', 'the demo runs the default key mode');
    assert.ok(me.epoch >= 1, `an MLS epoch: ${me.epoch}`);
    assert.equal(me.code, me.sdkCode);
    // MLS: no per-call key; "remember this device" is on, so each member shows the others its device fingerprint
    assert.match(me.self, /^MLS: the others see your device fingerprint$/);
    assert.match(me.device, /^([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
    assert.equal(me.peers[0].id, other.id);
    assert.equal(me.peers[0].fp, other.device, 'the fingerprint shown for the peer is the peer\'s own device\'s');
    assert.equal(me.peers[0].who, PEOPLE[1 - i].name);
  }
  // the chat box: Alice types, Bob reads it under Alice's name (E2EE data message, docs/PROTOCOL.md §1.7)
  await pages[0].fill('#chatText', 'hi Bob, this is private');
  await pages[0].click('#chatSend');
  const line = await waitFor('Bob reads Alice\'s chat line', () => pages[1].evaluate(() => {
    const li = document.querySelector('#chatLog li');
    return li ? li.textContent : null;
  }), WAIT_MS);
  assert.equal(line, 'Alice: hi Bob, this is private');
  assert.equal(await pages[0].evaluate(() => document.querySelector('#chatLog li').textContent), 'you: hi Bob, this is private');
  assert.match(await pages[1].textContent('#chatHint'), /End-to-end encrypted/);
  // share-screen button (the page's getDisplayMedia stand-in, see tracks.test.mjs): Bob's screen tile of Alice plays
  // the button's handler is async (it starts or stops the share, a renegotiation): wait for its label
  const shareLabel = want => waitFor(`the share button says ${want}`, async () =>
    (await pages[0].textContent('#shareBtn')) === want ? want : null, 30000);
  await pages[0].click('#shareBtn');
  assert.equal(await shareLabel('Stop sharing'), 'Stop sharing');
  await waitFor('Bob sees Alice\'s screen tile playing', () => pages[1].evaluate(id => {
    const v = document.querySelector(`#peer-${id}-screen video`);
    return v && v.videoWidth > 0;
  }, views[0].id), 30000);
  await pages[0].click('#camBtn');
  assert.equal(await pages[0].textContent('#camBtn'), 'Camera off');
  await pages[0].click('#camBtn');
  assert.equal(await pages[0].textContent('#camBtn'), 'Camera on');
  await pages[0].click('#shareBtn');
  assert.equal(await shareLabel('Share screen'), 'Share screen');
  for (let i = 0; i < 2; i++) await pages[i].screenshot({ path: path.join(SHOTS, `demo-${PEOPLE[i].name.toLowerCase()}.png`) });
  // leaving empties the peer list on the other side and changes its code
  await pages[1].click('#leaveBtn');
  await waitFor('Alice sees Bob leave', async () => {
    const v = await read(pages[0]);
    return v.peers.length === 0 && v.code !== views[0].code;
  }, WAIT_MS);
  await pages[0].click('#leaveBtn');
});
