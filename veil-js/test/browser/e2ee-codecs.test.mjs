// Every video codec with E2EE in Chromium against a real veil-server.jar (e2ee = true, TEST-ONLY forward tap), one
// parametrised test per codec (and VP9 SVC mode): two pages join with {e2ee: true, codecs: [codec]}; each sends that
// codec (outbound codec stats) and shows the other's picture; what the SFU forwards is, per codec (docs/PROTOCOL.md
// §2.9), the ranged SFrame layout with exactly the codec's clear ranges in clear (H.264: start codes and NAL headers,
// no emulated start code; AV1: OBU headers, extensions and sizes) or the whole frame as SFrame ciphertext (VP9); the
// receiver's keys turn it back into the sender's frame, which a WebCodecs decoder shows as the sender's colour,
// while the forwarded bytes do not decode to it. And a codec the worker cannot protect that gets negotiated anyway
// (JFrame has no ranged layout for H.264; the test bypasses the SDK's codec filtering) is never sent, in clear or
// at all, and the call reports it: an 'e2ee' error event (source frames, reason unsupported-codec), repeated.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, waitFor } from '../../test-support/helpers/server.mjs';
import { launchChromium } from '../../test-support/helpers/browser.mjs';
import {
  openSmallStreamPage, joinE2eeInPage, e2eeStatsInPage, remoteColourInPage, closeColour, readTap,
} from '../../test-support/browser/e2ee-pages.mjs';
import {
  CODEC_CASES, assertForwardedFrame, decodeKeyFrameInPage, outboundVideoInPage,
} from '../../test-support/browser/codec-frames.mjs';
import { SFrameReceiver, DEFAULT_SUITE } from '../../src/e2ee/sframe.js';
import { CODECS } from '../../src/e2ee/codec.js';
import { obus } from '../../src/e2ee/av1.js';
import { fromHex } from '../../src/e2ee/bytes.js';

const PEERS = [
  { name: 'red', rgb: [220, 40, 40], hz: 440 },
  { name: 'green', rgb: [40, 200, 60], hz: 550 },
];

/** AV1: temporal and spatial id of a forwarded frame from its first OBU extension (clear), 0 without one. */
function av1Layers(f) {
  const chain = obus(CODECS.av1.received(new Uint8Array(f.data)), 'bad-header');
  const withExt = chain.find(o => o.ext >= 0);
  return withExt ? { tid: withExt.ext >> 5, sid: (withExt.ext >> 3) & 3 } : { tid: 0, sid: 0 };
}

const CASES = [
  CODEC_CASES.H264,
  CODEC_CASES.VP9,
  { ...CODEC_CASES.AV1, layersOf: av1Layers },
];
const VP9 = { ...CODEC_CASES.VP9, layersOf: f => ({ sid: f.sid, tid: f.tid }) };
const AV1 = CASES[2];
// SVC (W3C webrtc-svc scalability modes): every layer's frame is encrypted on its own and decodes
CASES.push(
  { ...VP9, options: { scalabilityMode: 'L1T3', simulcast: false }, check: checkLayers('L1T3', 1, 3) },
  // three spatial layers need a picture whose lowest layer is at least 240x135 (libwebrtc's SVC config)
  { ...VP9, options: { scalabilityMode: 'L3T3_KEY', simulcast: false }, size: { width: 960, height: 540 },
    check: checkLayers('L3T3_KEY', 3, 3) },
  { ...AV1, options: { scalabilityMode: 'L1T3', simulcast: false }, check: checkLayers('L1T3', 1, 3) },
);

/** The sender reports `mode`; the forwarded frames carry `spatial` spatial and `temporal` temporal layers. */
function checkLayers(mode, spatial, temporal) {
  return async (t, { pages }, frames, c) => {
    const out = await pages[0].evaluate(outboundVideoInPage);
    assert.equal(out.scalabilityMode, mode, 'the sender encodes the asked scalability mode');
    const layers = frames.map(f => c.layersOf(f));
    const sids = new Set(layers.map(l => l.sid));
    const tids = new Set(layers.map(l => l.tid));
    t.diagnostic(`${c.codec} ${mode}: spatial ids ${[...sids]}, temporal ids ${[...tids]} in ${frames.length} frames`);
    assert.equal(Math.max(...sids) + 1, spatial, 'spatial layers forwarded');
    assert.equal(Math.max(...tids) + 1, temporal, 'temporal layers forwarded');
  };
}

const tapFile = path.join(mkdtempSync(path.join(tmpdir(), 'veil-tap-')), 'forward-tap.jsonl');
let server;
let browser;

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
});

/** Two pages in `channel` sending `c.codec`; each shows the other's picture. Returns {pages, ids}. */
async function callWithCodec(c, channel) {
  const pages = [];
  const ids = [];
  for (let i = 0; i < 2; i++) pages.push(await openSmallStreamPage(browser, server.base, c.size));
  for (let i = 0; i < 2; i++) {
    const p = PEERS[i];
    ids[i] = await pages[i].evaluate(joinE2eeInPage, { ws: server.ws, channel, rgb: p.rgb, hz: p.hz,
      name: p.name, options: { codecs: [c.codec], ...(c.options || {}) } });
  }
  for (let i = 0; i < 2; i++) {
    const other = ids[1 - i];
    await waitFor(`${PEERS[i].name} decodes ${PEERS[1 - i].name} (${c.codec})`, async () => {
      const s = await pages[i].evaluate(e2eeStatsInPage);
      return s[other] && s[other].video && s[other].video.framesDecoded > 20;
    }, 60000);
    let got = null;
    await waitFor(`${PEERS[i].name} shows ${PEERS[1 - i].name}'s colour (${c.codec})`, async () => {
      got = await pages[i].evaluate(remoteColourInPage, other);
      return closeColour(got, PEERS[1 - i].rgb, 45);
    }, 30000).catch(e => { throw new Error(`${e.message}; got ${JSON.stringify(got)}`); });
    const out = await pages[i].evaluate(outboundVideoInPage);
    assert.equal(out.mimeType, c.mime, `${PEERS[i].name} sends ${c.codec}`);
    const errors = await pages[i].evaluate(() => window.veil.events.filter(e => e.type === 'error' || e.reason));
    assert.ok(!errors.some(e => c.errors.includes(e.reason)), JSON.stringify(errors));
  }
  return { pages, ids };
}

/**
 * The frames the SFU forwarded from the first page are ciphertext past the codec's clear ranges, decrypt under the
 * second page's keys, and decode (a key frame) to the sender's colour, while the forwarded bytes do not.
 */
async function checkForwarded(t, c, { pages, ids }) {
  const keys = (await pages[1].evaluate(() => window.veil.conn.e2ee.exportKeysForTesting())).receive[ids[0]];
  assert.ok(keys && keys.length > 0);
  const frames = await waitFor(`tapped ${c.codec} frames of red`, () => {
    const f = c.frames(readTap(tapFile).filter(p => p.publisher === ids[0] && p.codec === c.codec));
    return f.length >= 40 ? f : null;
  }, 30000);
  const receiver = new SFrameReceiver(DEFAULT_SUITE);
  for (const k of keys) await receiver.addKey(BigInt(k.kid), fromHex(k.key));
  let checked = 0;
  let keyPair = null;
  for (const f of frames.slice(0, 200)) {
    const data = new Uint8Array(f.data);
    let plain;
    try {
      plain = await receiver.decryptFrame(c.rule, undefined, data);
    } catch {
      continue; // a frame under a key green never held
    }
    checked++;
    assertForwardedFrame(c, data, plain);
    if (f.key && !f.sid && !keyPair) keyPair = { forwarded: [...data], plain: [...plain] };
  }
  assert.ok(checked >= 20, `frames checked against the plaintext: ${checked}`);
  assert.ok(keyPair, 'a key frame was checked');
  const plainPic = await pages[1].evaluate(decodeKeyFrameInPage, { bytes: keyPair.plain, config: c.decoder });
  const fwdPic = await pages[1].evaluate(decodeKeyFrameInPage, { bytes: keyPair.forwarded, config: c.decoder });
  assert.ok(plainPic.colour && closeColour(plainPic.colour, PEERS[0].rgb, 45), `plaintext decodes: ${JSON.stringify(plainPic)}`);
  assert.ok(!(fwdPic.colour && closeColour(fwdPic.colour, PEERS[0].rgb, 60)),
    `forwarded bytes do not decode to the picture: ${JSON.stringify(fwdPic)}`);
  t.diagnostic(`${c.codec}: checked ${checked} forwarded frames; forwarded key frame through the decoder: ${JSON.stringify(fwdPic)}`);
  return frames;
}

for (const c of CASES) {
  const label = c.codec.toLowerCase() + (c.options && c.options.scalabilityMode ? '_' + c.options.scalabilityMode : '');
  test(`e2ee_${label}_twoPages_pictureRight_forwardedIsCiphertextPastTheClearRanges`, async t => {
    const call = await callWithCodec(c, `codec-${label}`);
    try {
      const frames = await checkForwarded(t, c, call);
      if (c.check) await c.check(t, call, frames, c);
    } finally {
      for (const p of call.pages) await p.context().close();
    }
  });
}

test('e2ee_jframe_h264NegotiatedAnyway_neverSentInClear_callReportsUnsupportedCodec', async () => {
  const pages = [];
  for (let i = 0; i < 2; i++) pages.push(await openSmallStreamPage(browser, server.base));
  try {
    // the first page skips the SDK's E2EE codec filtering and puts H.264 first (as a buggy or hostile negotiation
    // would); JFrame cannot protect H.264
    await pages[0].evaluate(async () => {
      const m = await import('/sdk/veil.js');
      m.VeilConnection.prototype._orderOffer = sdp => m.orderOfferVideoCodecs(sdp, ['H264', 'VP8'], null);
      m.VeilConnection.prototype._preferVideoCodecs = () => {};
    });
    const ids = [];
    for (let i = 0; i < 2; i++) {
      const p = PEERS[i];
      ids[i] = await pages[i].evaluate(joinE2eeInPage, { ws: server.ws, channel: 'codec-unprotectable', rgb: p.rgb,
        hz: p.hz, name: p.name, options: { e2eeFormat: 'jframe', codecs: i === 0 ? undefined : ['VP8'] } });
    }
    const unsupported = () => pages[0].evaluate(() => window.veil.events.filter(e => e.type === 'error'
      && e.source === 'frames' && e.reason === 'unsupported-codec' && e.operation === 'encrypt' && e.kind === 'video'));
    // the call goes on: green hears red's audio and sees nothing of red's video
    const base = await waitFor('green hears red', async () => {
      const s = (await pages[1].evaluate(e2eeStatsInPage))[ids[0]];
      return s && s.audio && s.audio.totalAudioEnergy > 0 && s.audio.packetsReceived > 20 ? s : null;
    }, 60000);
    const first = await waitFor('red reports unsupported-codec', async () => {
      const e = await unsupported();
      return e.length > 0 ? e : null;
    }, 30000);
    assert.match(first[0].detail || '', /h264 needs the SFrame format/i);
    // reported again while frames keep coming (rate-limited, never silent): a second event or suppressed ones
    const again = await waitFor('red keeps reporting', async () => {
      const e = await unsupported();
      return e.length > 1 || e.some(x => x.suppressed > 0) ? e : null;
    }, 30000);
    const out = await pages[0].evaluate(outboundVideoInPage);
    assert.equal(out.mimeType, 'video/H264', 'H.264 was negotiated despite E2EE (the case under test)');
    // audio keeps flowing (waited for: the events above may all have come within a few hundred ms of `base`, and a
    // loaded machine can hold the next audio packets back for longer than that)
    const s = await waitFor('audio keeps flowing', async () => {
      const now = (await pages[1].evaluate(e2eeStatsInPage))[ids[0]];
      return now && now.audio && now.audio.packetsReceived > base.audio.packetsReceived + 10 ? now : null;
    }, 30000);
    assert.equal(s.video ? s.video.framesDecoded : 0, 0, 'no video frame of red decoded');
    const tapped = readTap(tapFile).filter(p => p.publisher === ids[0] && p.payload.length > 0);
    assert.equal(tapped.length, 0, `no video payload of red reached the server: ${tapped.length}`);
    assert.ok(again.length >= 1);
  } finally {
    for (const p of pages) await p.context().close();
  }
});

/** In-page: the outbound video per simulcast rid: {rid: {w, frames, mimeType}}. */
async function outboundLayersInPage() {
  const report = await window.veil.conn.pc.getStats();
  const out = {};
  report.forEach(s => {
    if (s.type === 'outbound-rtp' && s.kind === 'video') {
      const c = s.codecId && report.get(s.codecId);
      out[s.rid || '-'] = { w: s.frameWidth || 0, frames: s.framesEncoded || 0, mimeType: c ? c.mimeType : null };
    }
  });
  return out;
}

test('e2ee_h264_simulcast_threeLayersEachEncrypted_lowAndHighSubscribersShowThePicture', async t => {
  const c = CODEC_CASES.H264;
  const pub = await openSmallStreamPage(browser, server.base, { width: 960, height: 540 });
  const low = await openSmallStreamPage(browser, server.base);
  const high = await openSmallStreamPage(browser, server.base);
  try {
    const channel = 'codec-h264-simulcast';
    const idPub = await pub.evaluate(joinE2eeInPage, { ws: server.ws, channel, rgb: PEERS[0].rgb, hz: PEERS[0].hz,
      name: 'publisher', role: 'sendonly', options: { codecs: ['H264'] } });
    const layers = await waitFor('three H.264 simulcast layers at three sizes', async () => {
      const out = await pub.evaluate(outboundLayersInPage);
      const ok = ['q', 'h', 'f'].every(r => out[r] && out[r].frames > 0 && out[r].w > 0 && out[r].mimeType === 'video/H264');
      return ok && out.q.w < out.h.w && out.h.w < out.f.w ? out : null;
    }, 60000, 250);
    await low.evaluate(joinE2eeInPage, { ws: server.ws, channel, name: 'low', role: 'recvonly',
      options: { receiveMaxHeight: 200 } });
    await high.evaluate(joinE2eeInPage, { ws: server.ws, channel, name: 'high', role: 'recvonly' });
    const seen = {};
    for (const [page, label, fits] of [[low, 'low', w => w > 0 && w <= layers.q.w], [high, 'high', w => w > layers.q.w]]) {
      let got = null;
      await waitFor(`the ${label} subscriber shows the publisher's colour from its layer`, async () => {
        const s = (await page.evaluate(e2eeStatsInPage))[idPub];
        const w = await page.evaluate(id => { const r = window.veil.remote[id]; return r && r.video ? r.video.videoWidth : 0; }, idPub);
        got = { w, decoded: s && s.video ? s.video.framesDecoded : 0, colour: await page.evaluate(remoteColourInPage, idPub) };
        return got.decoded > 20 && fits(w) && closeColour(got.colour, PEERS[0].rgb, 45);
      }, 60000, 250).catch(e => { throw new Error(`${e.message}; got ${JSON.stringify(got)}`); });
      seen[label] = got;
      const errors = await page.evaluate(() => window.veil.events.filter(e => e.type === 'error' && e.source === 'frames'));
      assert.deepEqual(errors, [], `${label}: no frame errors`);
    }
    // every layer's frames are ranged SFrame ciphertext (the tap holds what the first subscriber got)
    const keys = (await high.evaluate(() => window.veil.conn.e2ee.exportKeysForTesting())).receive[idPub];
    const receiver = new SFrameReceiver(DEFAULT_SUITE);
    for (const k of keys) await receiver.addKey(BigInt(k.kid), fromHex(k.key));
    const frames = c.frames(readTap(tapFile).filter(p => p.publisher === idPub && p.codec === 'H264'));
    let checked = 0;
    for (const f of frames.slice(0, 200)) {
      let plain;
      try {
        plain = await receiver.decryptFrame(c.rule, undefined, new Uint8Array(f.data));
      } catch {
        continue;
      }
      assertForwardedFrame(c, new Uint8Array(f.data), plain);
      checked++;
    }
    assert.ok(checked >= 20, `forwarded simulcast H.264 frames checked: ${checked}`);
    t.diagnostic(`H.264 simulcast layers ${JSON.stringify(Object.fromEntries(Object.entries(layers).map(([r, l]) => [r, l.w])))}; `
      + `low shows ${seen.low.w} px wide, high ${seen.high.w}; ${checked} forwarded frames checked`);
  } finally {
    for (const p of [pub, low, high]) await p.context().close();
  }
});
