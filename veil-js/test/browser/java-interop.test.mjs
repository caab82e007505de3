// Browser ↔ Java E2EE interop in headless Chromium against a real veil-server.jar (e2ee = true): the Java SDK's
// example participant Echo (veil-client-all.jar, a separate JVM) and one Chromium page join the same channel with
// E2EE. They agree on each other's identity fingerprints and on the verification code, and the page hears its own
// oscillator again on Echo's track: Echo only re-sends Opus frames it decrypted (the page's SFrame frames) and
// re-encrypts them under its own SFrame key, so decoded, non-silent audio on Echo's track means Java decrypted the
// browser's frames and the browser decrypted Java's. Both have a persistent device identity (Echo a key file, the
// page a non-extractable key in IndexedDB) and each shows the other's device fingerprint, certified over the
// device pairwise channel. A second test does the same call in passphrase mode (Echo --passphrase): each side sends
// under its own random KID and derives the other's key from the passphrase and the KID on the wire. A third has Echo
// share a screen (--screen: VP8 frames ffmpeg encoded, on the Java SDK's screen-share track, SFrame-encrypted): the
// page gets it as a `screen` track showing the right colour, and what the server forwarded is SFrame past the clear
// VP8 prefix.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, waitFor } from '../../test-support/helpers/server.mjs';
import { launchChromium } from '../../test-support/helpers/browser.mjs';
import { spawnEcho, stopAllAndCheck } from '../../test-support/helpers/java.mjs';
import {
  smallStreamSource, joinE2eeInPage, e2eeStatsInPage, e2eeViewInPage, remoteColourInPage, closeColour, readTap,
  reassemble,
} from '../../test-support/browser/e2ee-pages.mjs';
import { SFrameReceiver, DEFAULT_SUITE, tryDecodeHeader } from '../../src/e2ee/sframe.js';
import { CODECS } from '../../src/e2ee/codec.js';
import { fromHex } from '../../src/e2ee/bytes.js';

const CHANNEL = 'java-interop';
/** Frame errors tolerated for Echo's frames on either side: the first frames can arrive before the keys. */
const STARTUP_ERRORS = 5;
let server;
let browser;
let echo;
const keyDir = mkdtempSync(path.join(tmpdir(), 'veil-echo-'));
const tapFile = path.join(keyDir, 'forward-tap.jsonl');

before(async () => {
  server = await startServer({ config: 'e2ee = true', args: ['--test-forward-tap', tapFile] });
  browser = await launchChromium();
});

after(async () => {
  try {
    await stopAllAndCheck({ echoes: [echo], browser, server });
  } finally {
    rmSync(keyDir, { recursive: true, force: true });
  }
});

test('javaInterop_echoAndPage_agreeOnFingerprintsAndCode_pageHearsItsAudioDecryptedReEncryptedByJava', async t => {
  const t0 = Date.now();
  const deviceKey = path.join(keyDir, 'echo-device.key');
  echo = await spawnEcho({ ws: server.ws, channel: CHANNEL, deviceKey, senderKeys: true });
  const failWithOutput = e => { throw new Error(`${e.message}\n${echo.output()}`); };
  await waitFor('Echo connected', () => echo.state.id || (echo.state.exitCode !== null
    ? Promise.reject(new Error(`Echo exited with ${echo.state.exitCode}`)) : null), 70000).catch(failWithOutput);
  const echoId = echo.state.id;
  assert.match(echo.state.fingerprint || '', /^([0-9a-f]{4} ){15}[0-9a-f]{4}$/, 'Echo prints its fingerprint');
  const echoUpMs = Date.now() - t0;

  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', e => console.error('page error:', e.message));
  await page.goto(server.base + '/');
  await page.addScriptTag({ content: smallStreamSource() });
  const t1 = Date.now();
  const pageId = await page.evaluate(joinE2eeInPage, { ws: server.ws, channel: CHANNEL, rgb: [220, 40, 40], hz: 440, name: 'page',
    options: { e2eePersistentIdentity: true } });
  assert.notEqual(pageId, echoId);

  // fingerprints: the page lists Echo with the fingerprint Echo printed for itself, and Echo lists the page's own
  const view = await waitFor('the page lists Echo\'s fingerprint', async () => {
    const v = await page.evaluate(e2eeViewInPage);
    return v.remote[echoId] ? v : null;
  }).catch(failWithOutput);
  assert.equal(view.remote[echoId], echo.state.fingerprint, 'the page sees the fingerprint Echo shows for itself');
  assert.match(view.self, /^([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
  await waitFor('Echo lists the page\'s fingerprint', () => echo.state.members[pageId]).catch(failWithOutput);
  assert.equal(echo.state.members[pageId], view.self, 'Echo sees the fingerprint the page shows for itself');
  assert.notEqual(view.self, echo.state.fingerprint);

  // one verification code: the page's equals the last one Echo printed (both computed over the same two members)
  const code = await waitFor('the page and Echo show the same code', async () => {
    const v = await page.evaluate(e2eeViewInPage);
    const last = echo.state.codes[echo.state.codes.length - 1];
    return v.code && v.code === last && Object.keys(v.remote).length === 1 ? v.code : null;
  }).catch(async e => failWithOutput(new Error(`${e.message}; page ${JSON.stringify(await page.evaluate(e2eeViewInPage))}`)));
  assert.ok(echo.state.codes.length >= 2, `Echo's code changed when the page joined: ${echo.state.codes}`);
  assert.notEqual(echo.state.codes[0], code, 'the code for two members differs from Echo\'s one-member code');

  // device identities: each shows the other's persistent device fingerprint, certified for this connection
  assert.match(echo.state.device || '', /^([0-9a-f]{4} ){15}[0-9a-f]{4}$/, 'Echo prints its device fingerprint');
  assert.equal((statSync(deviceKey).mode & 0o777).toString(8), '600', 'Echo\'s key file is owner-only');
  const pageDevice = await page.evaluate(() => window.veil.conn.e2eeDeviceFingerprint);
  assert.match(pageDevice || '', /^([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
  const echoSeen = await waitFor('the page shows Echo\'s device fingerprint', async () => {
    const p = (await page.evaluate(() => window.veil.conn.e2eePeers)).find(x => x.connectionId === echoId);
    return p && p.deviceFingerprint ? p : null;
  }).catch(failWithOutput);
  assert.equal(echoSeen.deviceFingerprint, echo.state.device, 'Java\'s certificate verifies in the browser');
  await waitFor('Echo shows the page\'s device fingerprint', () => echo.state.memberDevices[pageId]).catch(failWithOutput);
  assert.equal(echo.state.memberDevices[pageId], pageDevice, 'the browser\'s certificate verifies in Java');

  // media: the page decodes audio on Echo's track, non-silent and growing
  const first = await waitFor('the page hears audio on Echo\'s track', async () => {
    const s = (await page.evaluate(e2eeStatsInPage))[echoId];
    return s && s.audio && s.audio.packetsReceived > 25 && s.audio.totalAudioEnergy > 0 && s.audio.totalSamplesReceived > 0
      ? s.audio : null;
  }).catch(async e => failWithOutput(new Error(`${e.message}; page events ${JSON.stringify(
    (await page.evaluate(() => window.veil.events)).filter(x => x.type !== 'key-used').slice(-10))}`)));
  const firstAudioMs = Date.now() - t1;
  const later = await waitFor('Echo\'s audio keeps coming: packets, samples and energy grow', async () => {
    const a = (await page.evaluate(e2eeStatsInPage))[echoId].audio;
    return a.packetsReceived > first.packetsReceived + 50 && a.totalSamplesReceived > first.totalSamplesReceived
      && a.totalAudioEnergy > first.totalAudioEnergy ? a : null;
  });

  // the page opened Echo's frames with a key Echo sent it, and dropped at most a few before the keys arrived
  const events = await page.evaluate(() => window.veil.events);
  const decryptedFromEcho = events.filter(e => e.type === 'key-used' && e.operation === 'decrypt' && e.senderId === echoId);
  assert.ok(decryptedFromEcho.length > 0, 'the page reports decrypting with Echo\'s key');
  const installed = events.filter(e => e.type === 'key-installed' && e.senderId === echoId).map(e => e.kid);
  assert.ok(decryptedFromEcho.every(e => installed.includes(e.kid)), `decrypted under installed KIDs of Echo: ${installed}`);
  const pageErrors = events.filter(e => e.type === 'error' && e.senderId === echoId);
  const pageDropped = pageErrors.reduce((n, e) => n + 1 + (e.suppressed || 0), 0);
  assert.ok(pageDropped <= STARTUP_ERRORS, `the page dropped ${pageDropped} of Echo's frames: ${JSON.stringify(pageErrors)}`);
  assert.equal(events.filter(e => e.type === 'error' && e.source !== 'frames').length, 0, 'no key or worker errors in the page');
  assert.ok(pageErrors.every(e => /^no[-_]key$/i.test(e.reason)), `the page's errors for Echo: ${JSON.stringify(pageErrors)}`);
  // and Echo dropped at most a few of the page's frames (no key yet), none for any other reason
  const echoDropped = echo.state.errors.reduce((n, e) => n + e.count, 0);
  assert.ok(echoDropped <= STARTUP_ERRORS, `Echo dropped ${echoDropped} frames: ${JSON.stringify(echo.state.errors)}`);
  assert.ok(echo.state.errors.every(e => /^no[-_]key$/i.test(e.reason)), `Echo's errors: ${JSON.stringify(echo.state.errors)}`);
  assert.equal(echo.state.disconnected, null);

  await page.evaluate(() => window.veil.conn.disconnect());
  await context.close();
  t.diagnostic(`Echo up ${echoUpMs} ms; page join → first audio back from Java ${firstAudioMs} ms; `
    + `${later.packetsReceived} packets, ${later.totalSamplesReceived} samples from Echo; `
    + `dropped: page ${pageDropped}, Echo ${echoDropped}; total ${Date.now() - t0} ms`);
});

test('javaInterop_passphraseMode_echoAndPage_decryptEachOther_withOwnKids_andAgreeOnTheCode', async t => {
  const channel = 'java-interop-passphrase';
  const passphrase = 'correct horse battery staple';
  const pp = await spawnEcho({ ws: server.ws, channel, passphrase, senderKeys: true });
  try {
    const failWithOutput = e => { throw new Error(`${e.message}\n${pp.output()}`); };
    await waitFor('Echo (passphrase) connected', () => pp.state.id || (pp.state.exitCode !== null
      ? Promise.reject(new Error(`Echo exited with ${pp.state.exitCode}`)) : null), 70000).catch(failWithOutput);
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('pageerror', e => console.error('page error:', e.message));
    await page.goto(server.base + '/');
    await page.addScriptTag({ content: smallStreamSource() });
    await page.evaluate(joinE2eeInPage, { ws: server.ws, channel, rgb: [40, 200, 60], hz: 523, name: 'page', options: { passphrase } });
    assert.equal(await page.evaluate(() => window.veil.conn.e2eeMode), 'passphrase');
    const code = await waitFor('the page and Echo show the same passphrase-mode code', async () => {
      const v = await page.evaluate(e2eeViewInPage);
      return v.code && v.code === pp.state.codes[pp.state.codes.length - 1] ? v.code : null;
    }).catch(failWithOutput);
    const audio = await waitFor('the page hears its audio back through Java (decrypted, re-encrypted)', async () => {
      const s = (await page.evaluate(e2eeStatsInPage))[pp.state.id];
      return s && s.audio && s.audio.packetsReceived > 25 && s.audio.totalAudioEnergy > 0 ? s.audio : null;
    }).catch(failWithOutput);
    // Java's frames carry Java's own random KID, and the page derived its key from the passphrase and that KID
    const events = await page.evaluate(() => window.veil.events);
    const used = events.find(e => e.type === 'key-used' && e.operation === 'decrypt' && e.senderId === pp.state.id);
    const own = events.find(e => e.type === 'send-key');
    assert.ok(used && own, 'the page decrypted Echo and sent under its own KID');
    assert.notEqual(used.kid, own.kid);
    assert.notEqual(used.kid, '0');
    assert.equal(pp.state.errors.filter(e => !/^no[-_]key$/i.test(e.reason)).length, 0, JSON.stringify(pp.state.errors));
    await page.evaluate(() => window.veil.conn.disconnect());
    await context.close();
    t.diagnostic(`passphrase mode: code ${code}; ${audio.packetsReceived} packets back from Java`);
  } finally {
    await pp.stop();
  }
});

test('javaInterop_screenShare_javaSendsVp8OnItsScreenTrack_e2ee_pageShowsIt_forwardedIsSFrame', async t => {
  const ivf = path.join(keyDir, 'screen.ivf');
  const GREEN = [40, 200, 60];
  // two seconds of a green 320x240 picture, a key frame every second (ffmpeg's libvpx)
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=0x28c83c:s=320x240:r=15',
    '-t', '2', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '200k', '-g', '15',
    '-auto-alt-ref', '0', '-f', 'ivf', ivf]);
  const sharer = await spawnEcho({ ws: server.ws, channel: 'java-screen', screen: ivf, senderKeys: true });
  try {
    const failWithOutput = e => { throw new Error(`${e.message}\n${sharer.output()}`); };
    await waitFor('Echo connected and sharing', () => sharer.state.id || (sharer.state.exitCode !== null
      ? Promise.reject(new Error(`Echo exited with ${sharer.state.exitCode}`)) : null), 70000).catch(failWithOutput);
    const sharerId = sharer.state.id;
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(server.base + '/');
    await page.addScriptTag({ content: smallStreamSource() });
    await page.evaluate(joinE2eeInPage, { ws: server.ws, channel: 'java-screen', rgb: [220, 40, 40], hz: 440,
      name: 'page' });
    let got = null;
    await waitFor('the page shows the Java screen share', async () => {
      const s = (await page.evaluate(e2eeStatsInPage))[sharerId];
      const screen = await page.evaluate(id => !!(window.veil.remote[id] && window.veil.remote[id].screen), sharerId);
      got = { screen, decoded: s && s.video ? s.video.framesDecoded : 0,
        colour: await page.evaluate(remoteColourInPage, sharerId) };
      return got.screen && got.decoded > 20 && closeColour(got.colour, GREEN, 45);
    }, 60000).catch(e => failWithOutput(new Error(`${e.message}; got ${JSON.stringify(got)}`)));
    // what the server forwarded: the clear VP8 prefix, then an SFrame that the page's keys open
    const keys = (await page.evaluate(() => window.veil.conn.e2ee.exportKeysForTesting())).receive[sharerId];
    const receiver = new SFrameReceiver(DEFAULT_SUITE);
    for (const k of keys) await receiver.addKey(BigInt(k.kid), fromHex(k.key));
    const frames = reassemble(readTap(tapFile).filter(p => p.publisher === sharerId && p.codec === 'VP8'));
    let checked = 0;
    for (const f of frames.slice(0, 60)) {
      const data = new Uint8Array(f.data);
      const n = CODECS.vp8.clearPrefixLength(data, undefined);
      assert.ok(tryDecodeHeader(data, n), 'an SFrame header after the clear VP8 prefix');
      const plain = await receiver.decryptFrame(CODECS.vp8, undefined, data).catch(() => null);
      if (!plain) continue;
      assert.equal(Buffer.from(data).includes(Buffer.from(plain.subarray(n, n + 12))), false, 'no plaintext run forwarded');
      checked++;
    }
    assert.ok(checked >= 10, `forwarded screen frames checked: ${checked}`);
    const errors = sharer.state.errors.filter(e => e.source === 'frames');
    assert.deepEqual(errors, [], 'Echo reports no frame errors');
    t.diagnostic(`Java screen share: page decoded ${got.decoded} frames, colour ${JSON.stringify(got.colour)}; `
      + `${checked} forwarded frames checked`);
    await context.close();
  } finally {
    await sharer.stop();
  }
});
