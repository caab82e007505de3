// Every video codec with E2EE in Chromium against a real veil-server.jar (e2ee = true, TEST-ONLY forward tap), one
// parametrised test per codec (and VP9 SVC mode): two pages join with {e2ee: true, codecs: [codec]}; each sends that
// codec (outbound codec stats) and shows the other's picture; what the SFU forwards is, per codec (docs/PROTOCOL.md
// §2.9), the ranged SFrame layout with exactly the codec's clear ranges in clear (H.264: start codes and NAL headers,
// no emulated start code; AV1: OBU headers, extensions and sizes) or the whole frame as SFrame ciphertext (VP9); the
// receiver's keys turn it back into the sender's frame, which a WebCodecs decoder shows as the sender's colour,
// while the forwarded bytes do not decode to it.
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
  h264Frames, vp9Frames, av1Frames, decodeKeyFrameInPage, outboundVideoInPage,
} from '../../test-support/browser/codec-frames.mjs';
import { SFrameReceiver, tryDecodeHeader, DEFAULT_SUITE } from '../../src/e2ee/sframe.js';
import { CODECS } from '../../src/e2ee/codec.js';
import { disassemble, decodeRanges } from '../../src/e2ee/ranges.js';
import { obus } from '../../src/e2ee/av1.js';
import { fromHex } from '../../src/e2ee/bytes.js';

const PEERS = [
  { name: 'red', rgb: [220, 40, 40], hz: 440 },
  { name: 'green', rgb: [40, 200, 60], hz: 550 },
];
const NT = 16; // the tag length of the default suite

/** H.264: every start code the packetizer saw is clear with its NAL header; no emulated start code outside. */
function checkH264Structure(data, clear, interleaved) {
  for (let j = 0; j + 3 < interleaved.length; j++) {
    if (data[j] === 0 && data[j + 1] === 0 && data[j + 2] === 0 && data[j + 3] === 1) {
      assert.ok(clear[j] && clear[j + 4], `start code at ${j} and its NAL header are clear`);
    }
  }
  for (let j = 0; j + 2 < data.length; j++) {
    if (data[j] === 0 && data[j + 1] === 0 && data[j + 2] <= 3) {
      assert.ok(clear[j] && clear[j + 1] && clear[j + 2], `no emulated start code outside the ranges (at ${j})`);
    }
  }
}

/** AV1: the clear ranges are exactly every OBU's header, extension and size field (merged when adjacent). */
function checkAv1Structure(data, clear, interleaved, ranges) {
  const expected = [];
  for (const o of obus(interleaved, 'bad-header')) {
    const prev = expected[expected.length - 1];
    if (prev && prev[0] + prev[1] === o.start) prev[1] += o.payload - o.start;
    else expected.push([o.start, o.payload - o.start]);
    assert.ok(![2, 8, 15].includes((o.header >> 3) & 15), 'no temporal delimiter, tile list or padding OBU');
  }
  assert.deepEqual(ranges, expected, 'the clear ranges are the OBU headers');
}

/** AV1: temporal and spatial id of a forwarded frame from its first OBU extension (clear), 0 without one. */
function av1Layers(f) {
  const chain = obus(CODECS.av1.received(new Uint8Array(f.data)), 'bad-header');
  const withExt = chain.find(o => o.ext >= 0);
  return withExt ? { tid: withExt.ext >> 5, sid: (withExt.ext >> 3) & 3 } : { tid: 0, sid: 0 };
}

const CASES = [
  { codec: 'H264', mime: 'video/H264', frames: h264Frames, rule: CODECS.h264, structure: checkH264Structure,
    decoder: { codec: 'avc1.42e01f', avc: { format: 'annexb' } }, errors: ['unsupported-codec', 'emulated-start-code'] },
  { codec: 'VP9', mime: 'video/VP9', frames: vp9Frames, rule: CODECS.none, decoder: { codec: 'vp09.00.10.08' },
    errors: ['unsupported-codec'], layersOf: f => ({ sid: f.sid, tid: f.tid }) },
  { codec: 'AV1', mime: 'video/AV1', frames: av1Frames, rule: CODECS.av1, structure: checkAv1Structure,
    decoder: { codec: 'av01.0.04M.08' }, errors: ['unsupported-codec'], layersOf: av1Layers },
];
const VP9 = CASES[1];
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
    if (c.rule.layout) {
      const view = c.rule.received ? c.rule.received(data) : data;
      const { interleaved, meta } = disassemble(view, NT);
      const h = tryDecodeHeader(meta, 0);
      assert.ok(h, 'an SFrame header in the trailer');
      const ranges = decodeRanges(meta.subarray(h.length), interleaved.length);
      const clear = new Uint8Array(view.length);
      for (const [o, l] of ranges) clear.fill(1, o, o + l);
      c.structure(view, clear, interleaved, ranges);
      const laid = c.rule.layout(plain).frame; // the plaintext as the sender laid it out
      assert.equal(laid.length, interleaved.length);
      let outside = 0;
      let same = 0;
      for (let j = 0; j < laid.length; j++) {
        if (clear[j]) assert.equal(laid[j], view[j], 'clear bytes are the plaintext');
        else { outside++; if (laid[j] === view[j]) same++; }
      }
      assert.ok(outside > 0 && same < outside / 8 + 2, `ciphertext past the clear ranges (${same}/${outside} equal)`);
    } else {
      const h = tryDecodeHeader(data, 0);
      assert.ok(h, 'every forwarded frame starts with an SFrame header');
      assert.equal(data.length, plain.length + h.length + NT, 'SFrame header and tag');
      assert.equal(Buffer.from(data).includes(Buffer.from(plain.subarray(0, Math.min(16, plain.length)))), false,
        'no plaintext run in what was forwarded');
    }
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
