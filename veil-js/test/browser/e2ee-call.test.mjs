// E2EE end to end in headless Chromium against a real veil-server.jar (e2ee = true, with the TEST-ONLY forward tap):
// three pages join with {e2ee: true} and decode each other; fingerprints and the verification code agree and change
// on join and leave; what the SFU forwards is ciphertext; a leave re-keys so the leaver's keys open nothing new while
// the others keep decoding; passphrase mode with a wrong passphrase decodes nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, waitFor } from '../../test-support/helpers/server.mjs';
import { launchChromium } from '../../test-support/helpers/browser.mjs';
import {
  smallStreamSource, joinE2eeInPage, e2eeStatsInPage, remoteColourInPage, e2eeViewInPage, closeColour, readTap,
  reassemble,
} from '../../test-support/browser/e2ee-pages.mjs';
import { SFrameReceiver, tryDecodeHeader, DEFAULT_SUITE } from '../../src/e2ee/sframe.js';
import { CODECS } from '../../src/e2ee/codec.js';
import { splitKid } from '../../src/e2ee/keyring.js';
import { fromHex } from '../../src/e2ee/bytes.js';
import { veilRatchet } from '../../src/e2ee/ratchet.js';

const PEERS = [
  { name: 'red', rgb: [220, 40, 40], hz: 440 },
  { name: 'green', rgb: [40, 200, 60], hz: 550 },
  { name: 'blue', rgb: [40, 60, 220], hz: 660 },
];
const CHANNEL = 'e2ee-room';
const tapFile = path.join(mkdtempSync(path.join(tmpdir(), 'veil-tap-')), 'forward-tap.jsonl');
let server;
let browser;
const pages = [];
const contexts = [];
const ids = [];
const timings = {};
let threeCode = null;

before(async () => {
  server = await startServer({ config: 'e2ee = true', args: ['--test-forward-tap', tapFile] });
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  if (server) {
    const code = await server.stop();
    assert.ok(code === 0 || code === 143, `veil-server must exit cleanly, got ${code}`);
  }
  if (Object.keys(timings).length) console.log('# browser e2ee timings ' + JSON.stringify(timings));
});

async function newPage(hash = '') {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', e => console.error('page error:', e.message));
  await page.goto(server.base + '/' + hash);
  await page.addScriptTag({ content: smallStreamSource() });
  contexts.push(context);
  return page;
}

const stats = page => page.evaluate(e2eeStatsInPage);
const view = page => page.evaluate(e2eeViewInPage);

/** Waits until `page` decodes video from every id in `others` (framesDecoded > n) and hears their audio. */
async function waitDecoding(page, name, others, n = 5) {
  return waitFor(`${name} decoding ${others.length} others`, async () => {
    const s = await stats(page);
    return others.every(o => s[o] && s[o].video && s[o].video.framesDecoded > n
      && s[o].audio && s[o].audio.totalAudioEnergy > 0 && s[o].audio.packetsReceived > 10) ? s : null;
  }, 30000);
}

test('e2ee_threePages_decodeEachOther_fingerprintsAndCodeAgreeAndChangeOnJoin', async t => {
  for (let i = 0; i < 3; i++) pages.push(await newPage());
  const codeHistory = [];
  for (let i = 0; i < 3; i++) {
    const p = PEERS[i];
    ids[i] = await pages[i].evaluate(joinE2eeInPage, { ws: server.ws, channel: CHANNEL, rgb: p.rgb, hz: p.hz, name: p.name });
    // everybody in so far lists the others and shows one code
    const code = await waitFor(`one code for ${i + 1} members`, async () => {
      const vs = await Promise.all(pages.slice(0, i + 1).map(view));
      const ok = vs.every(v => v.code && Object.keys(v.remote).length === i && v.code === vs[0].code);
      return ok ? vs[0].code : null;
    });
    codeHistory.push(code);
  }
  assert.equal(new Set(codeHistory).size, 3, `the code changes on every join: ${codeHistory}`);
  threeCode = codeHistory[2];

  // (a) every page decodes both others' video and hears their audio, and the picture is the sender's
  const first = [];
  for (let i = 0; i < 3; i++) first[i] = await waitDecoding(pages[i], PEERS[i].name, ids.filter((_, j) => j !== i));
  for (let i = 0; i < 3; i++) {
    const others = ids.filter((_, j) => j !== i);
    await waitFor(`${PEERS[i].name}: framesDecoded and audio energy grow`, async () => {
      const s = await stats(pages[i]);
      return others.every(o => s[o].video.framesDecoded > first[i][o].video.framesDecoded + 10
        && s[o].audio.totalAudioEnergy > first[i][o].audio.totalAudioEnergy);
    });
    for (let j = 0; j < 3; j++) {
      if (i === j) continue;
      let got = null;
      await waitFor(`${PEERS[i].name} shows ${PEERS[j].name}'s colour`, async () => {
        got = await pages[i].evaluate(remoteColourInPage, ids[j]);
        return closeColour(got, PEERS[j].rgb, 45);
      }).catch(e => { throw new Error(`${e.message}; got ${JSON.stringify(got)}`); });
    }
  }

  // (b) fingerprints agree: what the others list for X is X's own
  const vs = await Promise.all(pages.map(view));
  for (let i = 0; i < 3; i++) {
    assert.match(vs[i].self, /^([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
    for (let j = 0; j < 3; j++) if (i !== j) assert.equal(vs[j].remote[ids[i]], vs[i].self, `${PEERS[j].name} lists ${PEERS[i].name}`);
    assert.equal(vs[i].code, threeCode);
  }
  assert.equal(new Set(vs.map(v => v.self)).size, 3);

  // timings: connect → first decrypted (decoded) remote video frame, per page and sender joined before
  const joinToFirst = [];
  for (let i = 0; i < 3; i++) {
    const t0 = await pages[i].evaluate(() => window.veil.t0);
    const s = await stats(pages[i]);
    for (let j = 0; j < i; j++) joinToFirst.push(Math.round(s[ids[j]].firstFrame - t0));
  }
  timings.connectToFirstDecryptedFrameMs = joinToFirst;
  t.diagnostic(`connect → first decrypted remote frame (joiner vs. earlier members): ${joinToFirst.join(', ')} ms`);
});

/** Frames a publisher sent, from the tap, each with its SFrame KID (after the VP8 clear prefix). */
function tappedFrames(publisher) {
  const frames = reassemble(readTap(tapFile).filter(p => p.publisher === publisher));
  for (const f of frames) {
    f.key = (f.data[0] & 1) === 0;
    f.prefix = CODECS.vp8.clearPrefixLength(f.data, f.key ? 'key' : 'delta');
    const h = tryDecodeHeader(f.data, f.prefix);
    f.kid = h ? h.kid : null;
  }
  return frames;
}

async function receiverWith(keys) {
  const r = new SFrameReceiver(DEFAULT_SUITE);
  for (const k of keys) await r.addKey(BigInt(k.kid), fromHex(k.key));
  return r;
}

async function tryDecrypt(receiver, f) {
  try {
    return { plain: await receiver.decryptFrame(CODECS.vp8, f.key ? 'key' : 'delta', new Uint8Array(f.data)) };
  } catch (e) {
    return { error: e.reason || e.message };
  }
}

/** In-page: decodes one VP8 key frame with WebCodecs; the mean colour of its top-left, or the decoder's error. */
async function decodeVp8InPage(bytes) {
  return new Promise(resolve => {
    let done = false;
    const finish = v => { if (!done) { done = true; resolve(v); } };
    const dec = new VideoDecoder({
      output: frame => {
        const c = new OffscreenCanvas(frame.displayWidth, frame.displayHeight);
        const g = c.getContext('2d');
        g.drawImage(frame, 0, 0);
        const d = g.getImageData(4, 4, 16, 16).data;
        frame.close();
        const sum = [0, 0, 0];
        for (let i = 0; i < d.length; i += 4) { sum[0] += d[i]; sum[1] += d[i + 1]; sum[2] += d[i + 2]; }
        finish({ colour: sum.map(v => Math.round(v / (d.length / 4))) });
      },
      error: e => finish({ error: String(e && e.message) }),
    });
    dec.configure({ codec: 'vp8' });
    try {
      dec.decode(new EncodedVideoChunk({ type: 'key', timestamp: 0, data: new Uint8Array(bytes) }));
      dec.flush().then(() => finish({ nothing: true }), e => finish({ error: String(e && e.message) }));
    } catch (e) {
      finish({ error: String(e && e.message) });
    }
  });
}

test('e2ee_forwardedVp8_isCiphertext_pastTheClearPrefix', async t => {
  assert.equal(ids.length, 3, 'needs the call of the first test');
  // red's frames as the SFU forwarded them; green's copies of red's keys turn them back into plaintext
  const keysAtGreen = (await pages[1].evaluate(() => window.veil.conn.e2ee.exportKeysForTesting())).receive[ids[0]];
  assert.ok(keysAtGreen && keysAtGreen.length > 0);
  const frames = await waitFor('tapped key and delta frames of red', () => {
    const f = tappedFrames(ids[0]);
    return f.some(x => x.key) && f.filter(x => !x.key).length >= 20 ? f : null;
  });
  const receiver = await receiverWith(keysAtGreen);
  let checked = 0;
  let keyPair = null;
  for (const f of frames.slice(0, 200)) {
    assert.notEqual(f.kid, null, 'every forwarded frame carries an SFrame header after the clear prefix');
    const r = await tryDecrypt(receiver, f);
    if (!r.plain) continue;
    checked++;
    const plain = Buffer.from(r.plain);
    // the clear prefix is the same, everything after it differs from the sender's plaintext
    assert.deepEqual(f.data.subarray(0, f.prefix), plain.subarray(0, f.prefix));
    const ct = f.data.subarray(f.prefix);
    const pt = plain.subarray(f.prefix);
    assert.equal(ct.length, pt.length + (f.data.length - plain.length));
    assert.equal(f.data.length - plain.length, tryDecodeHeader(f.data, f.prefix).length + 16, 'SFrame header and tag');
    assert.equal(ct.includes(pt.subarray(0, Math.min(16, pt.length))), false, 'no plaintext run in what was forwarded');
    if (f.key && !keyPair) keyPair = { forwarded: [...f.data], plain: [...plain] };
  }
  assert.ok(checked >= 20, `frames checked against the plaintext: ${checked}`);
  assert.ok(keyPair, 'a key frame was checked');
  // the plaintext key frame decodes to red's picture; the forwarded one does not
  const plainPic = await pages[1].evaluate(decodeVp8InPage, keyPair.plain);
  const fwdPic = await pages[1].evaluate(decodeVp8InPage, keyPair.forwarded);
  assert.ok(plainPic.colour && closeColour(plainPic.colour, PEERS[0].rgb, 45), `plaintext decodes: ${JSON.stringify(plainPic)}`);
  assert.ok(!(fwdPic.colour && closeColour(fwdPic.colour, PEERS[0].rgb, 60)), `forwarded bytes do not decode to the picture: ${JSON.stringify(fwdPic)}`);
  t.diagnostic(`checked ${checked} forwarded frames of red; forwarded key frame through a VP8 decoder: ${JSON.stringify(fwdPic)}`);
});

test('e2ee_leave_rekeys_leaversKeysOpenNothingNew_othersKeepDecoding', async t => {
  assert.equal(ids.length, 3, 'needs the call of the first test');
  const [red, green, blue] = pages;
  const keysOfBlue = await blue.evaluate(() => window.veil.conn.e2ee.exportKeysForTesting());
  const heldByBlue = {};
  for (const id of [ids[0], ids[1]]) {
    heldByBlue[id] = keysOfBlue.receive[id] || [];
    assert.ok(heldByBlue[id].length > 0, 'blue held keys of ' + id);
  }
  const maxGen = id => heldByBlue[id].reduce((m, k) => (splitKid(BigInt(k.kid)).generation > m ? splitKid(BigInt(k.kid)).generation : m), -1n);

  const leaveAt = await blue.evaluate(async () => {
    const at = performance.timeOrigin + performance.now();
    await window.veil.conn.disconnect();
    return at;
  });
  // red and green each send under a fresh generation, and the code changes back for two members
  const fresh = {};
  for (const [page, id, name] of [[red, ids[0], 'red'], [green, ids[1], 'green']]) {
    fresh[id] = await waitFor(`${name} sends under a fresh key`, () => page.evaluate(({ after, gen }) => {
      const ev = window.veil.events.find(e => e.type === 'key-used' && e.operation === 'encrypt' && e.time > after
        && /^\d+$/.test(e.kid) && (BigInt(e.kid) >> 8n) > BigInt(gen));
      return ev ? { kid: ev.kid, time: ev.time } : null;
    }, { after: leaveAt, gen: String(maxGen(id)) }), 20000);
  }
  const rekeyMs = Math.round(Math.max(fresh[ids[0]].time, fresh[ids[1]].time) - leaveAt);
  timings.leaveToAllSendingFreshKeysMs = rekeyMs;
  const vs = await waitFor('red and green agree on a two-member code', async () => {
    const v = await Promise.all([red, green].map(view));
    return v.every(x => Object.keys(x.remote).length === 1 && x.code === v[0].code) && v[0].code !== threeCode ? v : null;
  });
  assert.equal(vs[0].remote[ids[1]], vs[1].self);
  assert.equal(vs[1].remote[ids[0]], vs[0].self);

  // red and green keep decoding each other: framesDecoded grows well past the re-key, and the longest gap between
  // presented frames around the leave stays within one key-frame round trip
  const base = [await stats(red), await stats(green)];
  await waitFor('red and green keep decoding each other after the re-key', async () => {
    const s = [await stats(red), await stats(green)];
    return s[0][ids[1]].video.framesDecoded > base[0][ids[1]].video.framesDecoded + 15
      && s[1][ids[0]].video.framesDecoded > base[1][ids[0]].video.framesDecoded + 15;
  });
  const gaps = [];
  for (const [page, other] of [[red, ids[1]], [green, ids[0]]]) {
    gaps.push(await page.evaluate(({ other, from }) => {
      const f = window.veil.remote[other].frames.filter(x => x >= from);
      let g = 0;
      for (let i = 1; i < f.length; i++) g = Math.max(g, f[i] - f[i - 1]);
      return { gap: Math.round(g), frames: f.length };
    }, { other, from: leaveAt - 1000 }));
  }
  timings.leaveLongestFrameGapMs = gaps.map(g => g.gap);
  for (const g of gaps) assert.ok(g.frames > 20 && g.gap < 1500, `frames keep coming across the re-key: ${JSON.stringify(gaps)}`);
  const errs = await red.evaluate(ids1 => window.veil.events.filter(e => e.type === 'error' && e.senderId === ids1
    && e.reason !== 'replay'), ids[1]);
  t.diagnostic(`leave → both sending fresh keys ${rekeyMs} ms; longest frame gap ${gaps.map(g => g.gap).join(' / ')} ms; red's non-replay errors for green: ${errs.length}`);

  // what red and green send under the fresh keys does not open with any key blue held (nor any ratchet of one),
  // while their frames from before the leave do (the check itself works)
  for (const id of [ids[0], ids[1]]) {
    const freshKid = BigInt(fresh[id].kid);
    const frames = await waitFor('tapped frames under the fresh key', () => {
      const f = tappedFrames(id).filter(x => x.kid !== null && x.kid >= freshKid);
      return f.length >= 10 ? f : null;
    });
    const old = tappedFrames(id).filter(x => x.kid !== null && heldByBlue[id].some(k => BigInt(k.kid) === x.kid));
    const blueReceiver = await receiverWith(heldByBlue[id]);
    let opened = 0;
    for (const f of old.slice(-20)) if ((await tryDecrypt(blueReceiver, f)).plain) opened++;
    assert.ok(opened > 0, 'blue\'s keys open frames from before the leave');
    const candidates = [];
    for (const k of heldByBlue[id]) {
      let b = fromHex(k.key);
      for (let s = 0; s <= 16; s++) { candidates.push(b); b = await veilRatchet(b); }
    }
    for (const f of frames.slice(0, 10)) {
      assert.equal((await tryDecrypt(await receiverWith(heldByBlue[id]), f)).plain, undefined);
      for (const c of candidates) {
        const r = new SFrameReceiver(DEFAULT_SUITE);
        await r.addKey(f.kid, c);
        const res = await tryDecrypt(r, f);
        assert.equal(res.error, 'bad-tag', 'a key blue held opens a frame sent after the leave');
      }
    }
  }
});

test('e2ee_passphraseMode_wrongPassphraseDecodesNothing_rightOnesDecode_hashChangeFixesIt', async t => {
  for (const p of pages) await p.evaluate(() => window.veil.conn.disconnect()).catch(() => {});
  for (const c of contexts.splice(0)) await c.close();
  const channel = 'e2ee-passphrase';
  const right = 'correct horse battery';
  const p1 = await newPage('#e2eekey=' + encodeURIComponent(right));
  const p2 = await newPage();
  const p3 = await newPage('#e2eekey=wrong%20horse');
  const relayedBefore = (await (await fetch(server.base + '/health')).json()).counters['e2ee.relayed'] || 0;
  const id1 = await p1.evaluate(joinE2eeInPage, { ws: server.ws, channel, rgb: [220, 40, 40], hz: 440, name: 'p1' });
  const id2 = await p2.evaluate(joinE2eeInPage, { ws: server.ws, channel, rgb: [40, 200, 60], hz: 550, name: 'p2', options: { passphrase: right } });
  const id3 = await p3.evaluate(joinE2eeInPage, { ws: server.ws, channel, rgb: [40, 60, 220], hz: 660, name: 'p3' });
  assert.deepEqual(await Promise.all([p1, p2, p3].map(p => p.evaluate(() => window.veil.conn.e2eeMode))), ['passphrase', 'passphrase', 'passphrase']);
  await waitDecoding(p1, 'p1', [id2]);
  await waitDecoding(p2, 'p2', [id1]);
  // the wrong page gets the media (audio packets arrive) but every frame fails authentication
  await waitFor('p3 drops both senders\' frames as bad-tag', () => p3.evaluate(senders => senders.every(s =>
    window.veil.events.some(e => e.type === 'error' && e.reason === 'bad-tag' && e.senderId === s && e.kind === 'video')), [id1, id2]));
  const s3 = await waitFor('p3 receives packets', async () => {
    const s = await stats(p3);
    return [id1, id2].every(o => s[o] && s[o].audio && s[o].audio.packetsReceived > 50 && s[o].video && s[o].video.packetsReceived > 30) ? s : null;
  });
  for (const o of [id1, id2]) {
    assert.equal(s3[o].video.framesDecoded, 0, 'the wrong passphrase decodes no video');
    assert.equal(s3[o].audio.totalAudioEnergy, 0, 'the wrong passphrase decodes no audio');
  }
  // the others drop p3's frames too, and keep decoding each other
  await waitFor('p1 drops p3\'s frames', () => p1.evaluate(s => window.veil.events.some(e => e.type === 'error' && e.reason === 'bad-tag' && e.senderId === s), id3));
  assert.equal((await stats(p1))[id3].video.framesDecoded, 0);
  const relayedAfter = (await (await fetch(server.base + '/health')).json()).counters['e2ee.relayed'] || 0;
  assert.equal(relayedAfter, relayedBefore, 'no key messages in passphrase mode');
  // the right passphrase in p3's URL hash: it decodes from then on
  await p3.evaluate(pass => { location.hash = '#e2eekey=' + encodeURIComponent(pass); }, right);
  await waitDecoding(p3, 'p3 after hashchange', [id1, id2], 3);
  await p1.screenshot({ path: 'screenshots/e2ee-passphrase-p1.png' }).catch(() => {});
  for (const p of [p1, p2, p3]) await p.evaluate(() => window.veil.conn.disconnect());
  t.diagnostic('wrong passphrase: 0 frames decoded, bad-tag; after hashchange to the right one it decodes');
});
