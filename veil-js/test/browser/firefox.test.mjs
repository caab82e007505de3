// Firefox ESR (puppeteer-core over WebDriver BiDi) and Chromium (playwright-core) in one E2EE call against a real
// veil-server.jar (e2ee = true), each browser in its own network namespace of the lab: both directions decode the
// other's video and audio with the right picture, in SFrame and JFrame, in passphrase mode, and across a leave
// re-key (a third member leaves; the remaining Firefox + Chromium pair sends under fresh keys and keeps decoding).
// VP9 and AV1 (the codecs Firefox 153 encodes besides VP8) with E2EE both ways, Firefox's forwarded frames checked
// as ciphertext past the codec's clear ranges. The demo page works in Firefox too (its fake camera, a device identity kept in IndexedDB across a reload), and a
// Firefox subscriber repairs 5% loss with NACKs and keeps decrypting. The MLS key mode: Firefox founds, Chromium
// joins, one epoch and code, both decode each other. A missing
// /usr/bin/firefox-esr is a failure, never a skip.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, waitFor } from '../../test-support/helpers/server.mjs';
import { launchChromium, launchFirefox } from '../../test-support/helpers/browser.mjs';
import {
  smallStreamSource, joinE2eeInPage, e2eeStatsInPage, remoteColourInPage, e2eeViewInPage, closeColour, readTap,
  reassemble,
} from '../../test-support/browser/e2ee-pages.mjs';
import { splitKid } from '../../src/e2ee/keyring.js';
import { SFrameReceiver, tryDecodeHeader, DEFAULT_SUITE } from '../../src/e2ee/sframe.js';
import { CODECS } from '../../src/e2ee/codec.js';
import { fromHex } from '../../src/e2ee/bytes.js';
import { CODEC_CASES, assertForwardedFrame, outboundVideoInPage } from '../../test-support/browser/codec-frames.mjs';

const FF = { name: 'firefox-red', rgb: [220, 40, 40], hz: 440 };
const CR = { name: 'chromium-green', rgb: [40, 200, 60], hz: 550 };
const THIRD = { name: 'chromium-blue', rgb: [40, 60, 220], hz: 660 };
// generous: two browsers, a JVM and other suites share a loaded 2-core machine
const WAIT_MS = 60000;
const JFRAME_IV_LENGTH = 12;
const tapFile = path.join(mkdtempSync(path.join(tmpdir(), 'veil-tap-')), 'forward-tap.jsonl');

let server;
let firefox;
let chromium;
const contexts = [];

before(async () => {
  server = await startServer({ config: 'e2ee = true', args: ['--test-forward-tap', tapFile] });
  firefox = await launchFirefox();
  chromium = await launchChromium();
});

after(async () => {
  for (const c of contexts.splice(0)) await c.close().catch(() => {});
  // neither browser sent anything outside the lab (Firefox's own services included: no resolver, guard chain)
  if (server) {
    const strays = await server.lab.strays();
    assert.ok(Object.values(strays).every(n => n === 0), `packets sent outside 127.0.0.0/8 and 198.18.0.0/15: ${JSON.stringify(strays)}`);
  }
  if (firefox) await firefox.close();
  if (chromium) await chromium.close();
  if (server) {
    const code = await server.stop();
    assert.ok(code === 0 || code === 143, `veil-server must exit cleanly, got ${code}`);
  }
});

async function newPage(browser, label, base = server.base) {
  const context = await browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', e => console.error(`${label} page error:`, e.message));
  await page.goto(base + '/');
  await page.addScriptTag({ content: smallStreamSource() });
  return page;
}

const stats = page => page.evaluate(e2eeStatsInPage);
const view = page => page.evaluate(e2eeViewInPage);

/** Joins `who` in `page`; returns its connection id. */
function join(page, who, channel, options, ws = server.ws) {
  return page.evaluate(joinE2eeInPage, { ws, channel, rgb: who.rgb, hz: who.hz, name: who.name, options });
}

/** Waits until `page` decodes `other`'s video beyond `base` (+n frames) and hears its audio. */
function waitDecoding(page, what, other, base = null, n = 5) {
  return waitFor(what, async () => {
    const s = (await stats(page))[other];
    const b = base && base[other];
    return s && s.video && s.audio
      && s.video.framesDecoded > (b ? b.video.framesDecoded : 0) + n
      && s.audio.totalAudioEnergy > (b ? b.audio.totalAudioEnergy : 0)
      && s.audio.packetsReceived > 10 ? await stats(page) : null;
  }, WAIT_MS);
}

async function waitColour(page, what, other, rgb) {
  let got = null;
  await waitFor(what, async () => {
    got = await page.evaluate(remoteColourInPage, other);
    return closeColour(got, rgb, 45);
  }, WAIT_MS).catch(e => { throw new Error(`${e.message}; got ${JSON.stringify(got)}`); });
}

test('firefox_fakeCamera_getUserMedia_publishesEncrypted_chromiumDecodes', async () => {
  // Firefox's own fake devices (media.navigator.streams.fake, no permission prompt) instead of a canvas
  const ff = await newPage(firefox, 'firefox');
  const cr = await newPage(chromium, 'chromium');
  const tracks = await ff.evaluate(async () => {
    const s = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    window.makeSmallStream = () => s;
    return s.getTracks().map(t => t.kind).sort();
  });
  assert.deepEqual(tracks, ['audio', 'video']);
  const idFf = await join(ff, FF, 'ff-gum');
  const idCr = await join(cr, CR, 'ff-gum');
  const b = await waitDecoding(cr, 'Chromium decodes Firefox\'s fake camera', idFf);
  await waitDecoding(cr, 'Chromium keeps decoding Firefox\'s fake camera', idFf, b, 15);
  await waitDecoding(ff, 'Firefox decodes Chromium', idCr);
  await leave(ff, cr);
});

/** Both directions: each page decodes the other (framesDecoded grows, audio energy grows) with the right picture. */
async function assertBothDecode(ff, idFf, cr, idCr, label) {
  const b0 = await waitDecoding(ff, `${label}: Firefox decodes Chromium`, idCr);
  const b1 = await waitDecoding(cr, `${label}: Chromium decodes Firefox`, idFf);
  await waitDecoding(ff, `${label}: Firefox keeps decoding Chromium`, idCr, b0, 15);
  await waitDecoding(cr, `${label}: Chromium keeps decoding Firefox`, idFf, b1, 15);
  await waitColour(ff, `${label}: Firefox shows Chromium's colour`, idCr, CR.rgb);
  await waitColour(cr, `${label}: Chromium shows Firefox's colour`, idFf, FF.rgb);
}

/**
 * The E2EE errors a page recorded for frames of `sender`, other than those a healthy call has: a frame that arrives
 * before the receiver has the sender's key is dropped with 'no-key' (fail closed). That is expected before the first
 * frame of that sender decrypted, and, at any time, for a KID below the first one that decrypted: a key from before
 * this member joined, which it is never given (the sender ratchets on join), under which the sender's other
 * pipeline (audio vs video) may still deliver a frame or two. A 'no-key' for any other KID is an error.
 */
const frameErrors = (page, sender) => page.evaluate(s => {
  const ev = window.veil.events;
  const firstDecrypt = ev.findIndex(e => e.type === 'key-used' && e.operation === 'decrypt' && e.senderId === s);
  const firstKid = firstDecrypt < 0 ? null : BigInt(ev[firstDecrypt].kid);
  const kidOf = e => { const m = /KID (\d+)/.exec(e.detail || ''); return m ? BigInt(m[1]) : null; };
  return ev.filter((e, i) => e.type === 'error' && e.senderId === s && e.operation === 'decrypt'
    && !(e.reason === 'no-key' && (firstDecrypt < 0 || i < firstDecrypt
      || (kidOf(e) !== null && firstKid !== null && kidOf(e) < firstKid))));
}, sender);

async function leave(...pages) {
  for (const p of pages) await p.evaluate(() => window.veil.conn.disconnect()).catch(() => {});
}

test('firefox_chromium_plain_decodeEachOther_bothDirections', async () => {
  // a server without E2EE, and pages joining without it: the media is the browsers' own, unencrypted
  const plain = await startServer();
  try {
    const ff = await newPage(firefox, 'firefox', plain.base);
    const cr = await newPage(chromium, 'chromium', plain.base);
    const idFf = await join(ff, FF, 'ff-plain', { e2ee: false }, plain.ws);
    const idCr = await join(cr, CR, 'ff-plain', { e2ee: false }, plain.ws);
    assert.deepEqual(await Promise.all([ff, cr].map(p => p.evaluate(() => window.veil.conn.e2eeMode))), [null, null]);
    await assertBothDecode(ff, idFf, cr, idCr, 'plain');
    await leave(ff, cr);
  } finally {
    const code = await plain.stop();
    assert.ok(code === 0 || code === 143, `veil-server must exit cleanly, got ${code}`);
  }
});

test('firefox_chromium_mlsKeyMode_firefoxFoundsChromiumJoins_oneEpochAndCode_decodeEachOther', async t => {
  // the MLS key mode (docs/PROTOCOL.md §4): ts-mls in Firefox founds the group, Chromium joins from its Welcome
  const MLS = { keyMode: 'mls' };
  const ff = await newPage(firefox, 'firefox');
  const idFf = await join(ff, FF, 'ff-mls', MLS);
  const cr = await newPage(chromium, 'chromium');
  const idCr = await join(cr, CR, 'ff-mls', MLS);
  const mlsView = p => p.evaluate(() => ({ mode: window.veil.conn.e2eeKeyMode, epoch: window.veil.conn.e2eeEpoch,
    code: window.veil.conn.e2eeVerificationCode, roster: window.veil.conn.e2eeRoster }));
  let seen = null;
  const v = await waitFor('Firefox and Chromium agree on epoch 1, code and roster', async () => {
    seen = [await mlsView(ff), await mlsView(cr)];
    return seen[0].epoch === 1 && seen[1].epoch === 1 && seen[0].code && seen[0].code === seen[1].code ? seen[0] : null;
  }, WAIT_MS).catch(e => { throw new Error(`${e.message}; seen ${JSON.stringify(seen)}`); });
  assert.equal(v.mode, 'mls');
  assert.deepEqual(v.roster, [idFf, idCr], 'the MLS roster: Firefox founded (leaf 0), Chromium joined (leaf 1)');
  assert.deepEqual(seen[1].roster, v.roster);
  await assertBothDecode(ff, idFf, cr, idCr, 'mls');
  // Chromium decrypted Firefox's frames under Firefox's epoch-1 KID (leaf 0 above the epoch's 8 bits)
  const used = (await cr.evaluate(() => window.veil.events)).filter(e => e.type === 'key-used'
    && e.operation === 'decrypt' && e.senderId === idFf).map(e => BigInt(e.kid));
  assert.ok(used.includes(1n), `Chromium decrypted Firefox under KID 1: ${used}`);
  const mlsErrors = [];
  for (const p of [ff, cr]) {
    mlsErrors.push(...(await p.evaluate(() => window.veil.events)).filter(e => e.type === 'error' && e.source === 'mls'));
  }
  assert.deepEqual(mlsErrors, []);
  await leave(ff, cr);
  t.diagnostic(`Firefox + Chromium in MLS mode: epoch ${v.epoch}, code ${v.code}`);
});

test('firefox_chromium_sframe_decodeEachOther_bothDirections', async t => {
  const ff = await newPage(firefox, 'firefox');
  const cr = await newPage(chromium, 'chromium');
  const idFf = await join(ff, FF, 'ff-sframe');
  const idCr = await join(cr, CR, 'ff-sframe');
  assert.equal(await ff.evaluate(() => window.veil.conn.e2ee.format), 'sframe');
  await assertBothDecode(ff, idFf, cr, idCr, 'SFrame');
  // both show one verification code and list the other's own fingerprint
  const [vf, vc] = await Promise.all([view(ff), view(cr)]);
  assert.equal(vf.remote[idCr], vc.self);
  assert.equal(vc.remote[idFf], vf.self);
  assert.equal(vf.code, vc.code);
  // connect → first decrypted frame presented, each way (the later joiner's connect is the start for both)
  const firstMs = [];
  for (const [page, other] of [[ff, idCr], [cr, idFf]]) {
    const t0 = await cr.evaluate(() => window.veil.t0);
    firstMs.push(Math.round((await stats(page))[other].firstFrame - t0));
  }
  t.diagnostic(`Chromium's connect → first decrypted frame: in Firefox ${firstMs[0]} ms, in Chromium ${firstMs[1]} ms`);
  const errs = [...await frameErrors(ff, idCr), ...await frameErrors(cr, idFf)];
  t.diagnostic(`decrypt errors after decoding (expected few, e.g. frames before the key): ${JSON.stringify(errs.map(e => e.reason))}`);

  // what the SFU forwarded of Firefox's video is SFrame ciphertext past the VP8 clear prefix: Chromium's copies of
  // Firefox's keys open it, and no plaintext run of 16 bytes survives in it
  const keysAtCr = (await cr.evaluate(() => window.veil.conn.e2ee.exportKeysForTesting())).receive[idFf];
  assert.ok(keysAtCr && keysAtCr.length > 0, 'Chromium holds Firefox\'s keys');
  const frames = await waitFor('tapped key and delta frames of Firefox', () => {
    const f = tappedFrames(idFf);
    return f.some(x => x.key) && f.filter(x => !x.key).length >= 40 ? f : null;
  }, WAIT_MS);
  const receiver = new SFrameReceiver(DEFAULT_SUITE);
  for (const k of keysAtCr) await receiver.addKey(BigInt(k.kid), fromHex(k.key));
  let opened = 0;
  const failed = {};
  for (const f of frames.slice(0, 100)) {
    assert.notEqual(f.kid, null, 'every forwarded frame of Firefox carries an SFrame header after the clear prefix');
    let plain;
    try {
      plain = Buffer.from(await receiver.decryptFrame(CODECS.vp8, f.key ? 'key' : 'delta', new Uint8Array(f.data)));
    } catch (e) {
      failed[e.reason || e.message] = (failed[e.reason || e.message] || 0) + 1;
      continue; // e.g. a frame under a key Chromium had already dropped
    }
    opened++;
    assert.deepEqual(f.data.subarray(0, f.prefix), plain.subarray(0, f.prefix), 'the clear prefix is the plaintext\'s');
    const pt = plain.subarray(f.prefix);
    assert.equal(f.data.subarray(f.prefix).includes(pt.subarray(0, Math.min(16, pt.length))), false,
      'no plaintext run in what was forwarded');
  }
  assert.ok(opened >= 20, `forwarded frames of Firefox opened with Chromium's keys: ${opened}`);
  t.diagnostic(`${opened} of ${Math.min(100, frames.length)} forwarded Firefox frames checked against their plaintext; not opened: ${JSON.stringify(failed)}`);
  await leave(ff, cr);
});

/** Whole VP8 frames of `publisher` as the SFU forwarded them, with the SFrame KID after the clear prefix. */
function tappedFrames(publisher) {
  return reassemble(readTap(tapFile).filter(p => p.publisher === publisher)).map(f => {
    f.key = (f.data[0] & 1) === 0;
    f.prefix = CODECS.vp8.clearPrefixLength(f.data, f.key ? 'key' : 'delta');
    const h = tryDecodeHeader(f.data, f.prefix);
    f.kid = h ? h.kid : null;
    return f;
  });
}

for (const codec of ['VP9', 'AV1']) {
  const c = CODEC_CASES[codec];
  test(`firefox_chromium_${codec.toLowerCase()}_e2ee_bothSend${codec}_decodeEachOther_forwardedIsCiphertext`, async t => {
    const ff = await newPage(firefox, 'firefox');
    const cr = await newPage(chromium, 'chromium');
    const idFf = await join(ff, FF, 'ff-' + codec, { codecs: [codec] });
    const idCr = await join(cr, CR, 'ff-' + codec, { codecs: [codec] });
    await assertBothDecode(ff, idFf, cr, idCr, codec);
    for (const [page, label] of [[ff, 'Firefox'], [cr, 'Chromium']]) {
      assert.equal((await page.evaluate(outboundVideoInPage)).mimeType, c.mime, `${label} sends ${codec}`);
    }
    assert.deepEqual(await frameErrors(cr, idFf), [], 'Chromium decrypts every frame of Firefox');
    assert.deepEqual(await frameErrors(ff, idCr), [], 'Firefox decrypts every frame of Chromium');
    // what the SFU forwarded of Firefox's video: ciphertext past the clear ranges, decrypting under Chromium's keys
    const keys = (await cr.evaluate(() => window.veil.conn.e2ee.exportKeysForTesting())).receive[idFf];
    const receiver = new SFrameReceiver(DEFAULT_SUITE);
    for (const k of keys) await receiver.addKey(BigInt(k.kid), fromHex(k.key));
    const frames = await waitFor(`tapped ${codec} frames of Firefox`, () => {
      const f = c.frames(readTap(tapFile).filter(p => p.publisher === idFf && p.codec === codec));
      return f.length >= 30 ? f : null;
    }, WAIT_MS);
    let checked = 0;
    for (const f of frames.slice(0, 150)) {
      const data = new Uint8Array(f.data);
      let plain;
      try {
        plain = await receiver.decryptFrame(c.rule, undefined, data);
      } catch {
        continue; // under a key Chromium no longer holds
      }
      assertForwardedFrame(c, data, plain);
      checked++;
    }
    assert.ok(checked >= 20, `forwarded ${codec} frames of Firefox checked: ${checked}`);
    t.diagnostic(`${codec}: ${checked} forwarded Firefox frames are ciphertext past the clear ranges`);
    await leave(ff, cr);
  });
}

test('firefox_chromium_jframe_decodeEachOther_forwardedFramesCarryTheJFrameTrailer', async t => {
  const ff = await newPage(firefox, 'firefox');
  const cr = await newPage(chromium, 'chromium');
  const options = { e2eeFormat: 'jframe' };
  const idFf = await join(ff, FF, 'ff-jframe', options);
  const idCr = await join(cr, CR, 'ff-jframe', options);
  assert.deepEqual(await Promise.all([ff, cr].map(p => p.evaluate(() => window.veil.conn.e2ee.format))), ['jframe', 'jframe']);
  await assertBothDecode(ff, idFf, cr, idCr, 'JFrame');
  // each decrypts the other's frames under the key index the other encrypts with
  for (const [page, other, id] of [[ff, cr, idCr], [cr, ff, idFf]]) {
    const used = await other.evaluate(() => window.veil.events.filter(e => e.type === 'key-used' && e.operation === 'encrypt').map(e => e.kid));
    assert.ok(used.length > 0 && used.every(k => /^index (\d|1[0-5])$/.test(k)), `JFrame key indexes: ${used}`);
    await waitFor('the receiver reports the sender\'s key index', () => page.evaluate(({ id, kids }) => window.veil.events.some(
      e => e.type === 'key-used' && e.operation === 'decrypt' && e.senderId === id && kids.includes(e.kid)), { id, kids: used }), WAIT_MS);
  }
  // Firefox's forwarded frames end with the JFrame trailer: IV-length byte 12 and a key index < 16
  const frames = await waitFor('tapped frames of Firefox', () => {
    const f = reassemble(readTap(tapFile).filter(p => p.publisher === idFf));
    return f.length >= 20 ? f : null;
  }, WAIT_MS);
  for (const f of frames) {
    const n = f.data.length;
    assert.equal(f.data[n - 2], JFRAME_IV_LENGTH, `a forwarded Firefox frame of ${n} bytes has the JFrame IV-length byte`);
    assert.ok(f.data[n - 1] < 16, `key index ${f.data[n - 1]}`);
  }
  t.diagnostic(`${frames.length} forwarded Firefox frames carry the JFrame trailer`);
  await leave(ff, cr);
});

for (const format of ['sframe', 'jframe']) {
  test(`firefox_chromium_passphrase_${format}_decodeEachOther`, async () => {
    const ff = await newPage(firefox, 'firefox');
    const cr = await newPage(chromium, 'chromium');
    const options = { passphrase: 'correct horse battery', e2eeFormat: format };
    const idFf = await join(ff, FF, 'ff-pp-' + format, options);
    const idCr = await join(cr, CR, 'ff-pp-' + format, options);
    assert.deepEqual(await Promise.all([ff, cr].map(p => p.evaluate(() => window.veil.conn.e2eeMode))), ['passphrase', 'passphrase']);
    await assertBothDecode(ff, idFf, cr, idCr, `passphrase ${format}`);
    await leave(ff, cr);
  });
}

/** The page's send keys in the order they were activated: [{generation, step, kid}]. */
const sendKeys = page => page.evaluate(() => window.veil.events.filter(e => e.type === 'send-key').map(e => e.kid))
  .then(kids => kids.map(kid => ({ kid, ...splitKid(BigInt(kid)) })));

/** What a 'key-used' event names for a group key: the KID in SFrame, "index (generation mod 16)" in JFrame. */
const usedName = (format, k) => (format === 'sframe' ? String(k.kid) : 'index ' + (k.generation % 16n));

for (const format of ['sframe', 'jframe']) {
  test(`firefox_chromium_${format}_thirdLeaves_pairRekeys_andKeepsDecoding`, async t => {
    const channel = 'ff-leave-' + format;
    const options = { e2eeFormat: format };
    const ff = await newPage(firefox, 'firefox');
    const cr = await newPage(chromium, 'chromium');
    const third = await newPage(chromium, 'chromium (third)');
    const idFf = await join(ff, FF, channel, options);
    const idCr = await join(cr, CR, channel, options);
    const idThird = await join(third, THIRD, channel, options);
    await assertBothDecode(ff, idFf, cr, idCr, `${format}, three members`);
    await waitDecoding(ff, 'Firefox decodes the third member', idThird);
    await waitDecoding(third, 'the third member decodes Firefox', idFf);
    const threeCode = (await view(ff)).code;

    const before = [await sendKeys(ff), await sendKeys(cr)];
    const leaveAt = await third.evaluate(async () => {
      const at = performance.timeOrigin + performance.now();
      await window.veil.conn.disconnect();
      return at;
    });
    const freshAt = [];
    // Firefox and Chromium each activate a send key of a fresh generation and encrypt under it
    const fresh = [];
    for (const [i, page, who] of [[0, ff, 'Firefox'], [1, cr, 'Chromium']]) {
      const gen = before[i][before[i].length - 1].generation;
      fresh[i] = await waitFor(`${who} activates a fresh key after the third left`, async () => {
        const ks = await sendKeys(page);
        return ks.slice(before[i].length).find(k => k.generation > gen) || null;
      }, WAIT_MS);
      const name = usedName(format, fresh[i]);
      freshAt[i] = await waitFor(`${who} encrypts under ${name}`, () => page.evaluate(n => {
        const e = window.veil.events.find(x => x.type === 'key-used' && x.operation === 'encrypt' && x.kid === n);
        return e ? e.time : null;
      }, name), WAIT_MS);
    }
    // each decrypts the other's frames under its fresh key, and keeps decoding with the right picture
    for (const [page, sender, k, who] of [[ff, idCr, fresh[1], 'Firefox'], [cr, idFf, fresh[0], 'Chromium']]) {
      const name = usedName(format, k);
      await waitFor(`${who} decrypts under the other's fresh ${name}`, () => page.evaluate(({ sender, name }) =>
        window.veil.events.some(e => e.type === 'key-used' && e.operation === 'decrypt' && e.senderId === sender
          && e.kid === name), { sender, name }), WAIT_MS);
    }
    await assertBothDecode(ff, idFf, cr, idCr, `${format}, after the leave`);
    await waitFor('Firefox and Chromium agree on a two-member code', async () => {
      const [vf, vc] = await Promise.all([view(ff), view(cr)]);
      return vf.code === vc.code && vf.code !== threeCode && Object.keys(vf.remote).join() === idCr
        && Object.keys(vc.remote).join() === idFf;
    }, WAIT_MS);
    t.diagnostic(`fresh generations after the leave: Firefox ${fresh[0].generation}, Chromium ${fresh[1].generation}; `
      + `leave → first frame under it: Firefox ${Math.round(freshAt[0] - leaveAt)} ms, Chromium ${Math.round(freshAt[1] - leaveAt)} ms`);
    await leave(ff, cr);
  });
}

test('firefox_demoPage_joinsE2eeWithChromium_oneCode_videoBothWays_deviceIdentityKeptInIndexedDb', async () => {
  // the demo as a user runs it: the form, the browsers' fake camera and microphone (getUserMedia), "remember this
  // device" on (a non-extractable Ed25519 device key in IndexedDB), the SDK's default key mode (MLS: no per-call
  // key, each member shows the others its device fingerprint)
  const ff = await newPage(firefox, 'firefox demo');
  const cr = await newPage(chromium, 'chromium demo');
  const joinDemo = (page, name) => page.evaluate(n => {
    document.getElementById('channel').value = 'ff-demo';
    document.getElementById('name').value = n;
    document.getElementById('joinBtn').click();
  }, name);
  const read = page => page.evaluate(() => ({
    badge: document.getElementById('badge').textContent,
    code: document.getElementById('code').textContent,
    self: document.getElementById('selfFp').textContent,
    device: window.veilDemo.conn ? window.veilDemo.conn.e2eeDeviceFingerprint : null,
    keyMode: window.veilDemo.conn ? window.veilDemo.conn.e2eeKeyMode : null,
    peers: [...document.querySelectorAll('#peers li[data-connection-id]')].map(li => ({
      id: li.dataset.connectionId, fp: li.querySelector('.fp-block').dataset.fingerprint })),
    id: window.veilDemo.conn ? window.veilDemo.conn.connectionId : null,
    videoPlaying: [...document.querySelectorAll('figure[id^="peer-"] video')].some(v => v.videoWidth > 0 && !v.paused),
  }));
  const both = () => waitFor('both demo pages show one code, each other and the remote video', async () => {
    const v = await Promise.all([ff, cr].map(read));
    return v.every(x => x.peers.length === 1 && x.peers[0].fp && x.videoPlaying && /\d{5}/.test(x.code))
      && v[0].code === v[1].code ? v : null;
  }, WAIT_MS);
  await joinDemo(ff, 'Firefox');
  await joinDemo(cr, 'Chromium');
  const [vf, vc] = await both();
  assert.match(vf.badge, /E2EE · MLS/);
  assert.deepEqual([vf.keyMode, vc.keyMode], ['mls', 'mls']);
  assert.equal(vf.peers[0].id, vc.id);
  assert.equal(vf.peers[0].fp, vc.device, 'Firefox shows Chromium\'s own device fingerprint');
  assert.equal(vc.peers[0].fp, vf.device, 'Chromium shows Firefox\'s own device fingerprint');
  assert.match(vf.device || '', /^([0-9a-f]{4} ){15}[0-9a-f]{4}$/, 'Firefox has a persistent device identity');

  // Firefox leaves and joins again from a reloaded page: a new connection key, the same device key (IndexedDB)
  await ff.evaluate(() => document.getElementById('leaveBtn').click());
  await waitFor('Chromium sees Firefox leave', async () => (await read(cr)).peers.length === 0, WAIT_MS);
  await ff.reload();
  await joinDemo(ff, 'Firefox');
  const [wf] = await both();
  assert.notEqual(wf.id, vf.id, 'a new connection');
  assert.equal(wf.device, vf.device, 'the device identity survived the reload');
  assert.equal(wf.peers[0].fp, vc.device, 'and Firefox still shows Chromium\'s device fingerprint');
  for (const p of [ff, cr]) await p.evaluate(() => document.getElementById('leaveBtn').click());
});

test('firefox_subscriberUnder5PercentLoss_e2ee_nackRepair_keepsDecryptingAndDecoding', async t => {
  // 5% random loss on the way to Firefox (dropped as packets arrive in its namespace): Firefox asks for the lost
  // packets (NACK), the server answers from its cache, and Firefox keeps decrypting and decoding Chromium's video
  const ff = await newPage(firefox, 'firefox');
  const cr = await newPage(chromium, 'chromium');
  const idFf = await join(ff, FF, 'ff-loss');
  const idCr = await join(cr, CR, 'ff-loss');
  await waitDecoding(ff, 'Firefox decodes Chromium', idCr);
  const video = () => ff.evaluate(async () => {
    let v = null;
    (await window.veil.conn.pc.getStats()).forEach(s => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') v = { framesDecoded: s.framesDecoded || 0, nackCount: s.nackCount || 0, packetsLost: s.packetsLost || 0, packetsReceived: s.packetsReceived || 0 };
    });
    return v;
  });
  const health = async () => (await (await fetch(server.base + '/health')).json()).counters;
  const v0 = await video();
  const h0 = await health();
  const c0 = await server.lab.counters(firefox);
  await server.lab.setLoss(firefox, 0.05, { direction: 'down', mode: 'random' });
  try {
    const v1 = await waitFor('Firefox NACKs and decodes 100 more frames under loss', async () => {
      const v = await video();
      return v.nackCount > v0.nackCount && v.framesDecoded >= v0.framesDecoded + 100 ? v : null;
    }, 90000);
    const h1 = await health();
    const c1 = await server.lab.counters(firefox);
    const summary = {
      droppedByLab: c1.down.lossDrops.packets - c0.down.lossDrops.packets,
      nackCount: v1.nackCount - v0.nackCount,
      framesDecoded: v1.framesDecoded - v0.framesDecoded,
      packetsLost: v1.packetsLost - v0.packetsLost,
      serverRetransmittedFromCache: (h1['router.retransmitted_from_cache'] || 0) - (h0['router.retransmitted_from_cache'] || 0),
    };
    t.diagnostic(`Firefox under 5% loss (E2EE): ${JSON.stringify(summary)}`);
    assert.ok(summary.droppedByLab > 0, `the loss rule dropped packets: ${JSON.stringify(summary)}`);
    assert.ok(summary.serverRetransmittedFromCache > 0, `the server retransmitted for Firefox: ${JSON.stringify(summary)}`);
  } finally {
    await server.lab.clear(firefox);
  }
  await waitColour(ff, 'Firefox still shows Chromium\'s colour', idCr, CR.rgb);
  await leave(ff, cr);
});
