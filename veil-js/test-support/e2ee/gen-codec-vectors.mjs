// Writes test-vectors/codec-h264.json and test-vectors/codec-clear-ranges.json (deterministic):
// `node test-support/e2ee/gen-codec-vectors.mjs` in veil-js. Read by test/e2ee/codec-h264.test.mjs,
// test/e2ee/codec-av1.test.mjs, test/e2ee/codec-ranged.test.mjs and veil-e2ee's H264ClearRangesTest,
// Av1ClearRangesTest, ClearRangeCasesTest; schema in docs/PROTOCOL.md §2.9.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { layout } from '../../src/e2ee/h264.js';
import * as av1 from '../../src/e2ee/av1.js';
import { CODECS } from '../../src/e2ee/codec.js';
import { SFrameSender } from '../../src/e2ee/sframe.js';
import { toHex, fromHex } from '../../src/e2ee/bytes.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function bytes(n, seed) {
  // a small deterministic generator (xorshift32) for filler payloads without zero bytes
  let x = seed >>> 0 || 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = (x & 0xff) || 0x5a;
  }
  return out;
}
const cat = (...p) => Uint8Array.from(p.flatMap(x => [...x]));
const SC3 = [0, 0, 1];
const SC4 = [0, 0, 0, 1];
const SPS = [0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xec, 0x04, 0x40];
const PPS = [0x68, 0xce, 0x3c, 0x80];

const inputs = [
  { name: 'idr with sps and pps, 4- and 3-byte start codes',
    frame: cat(SC4, SPS, SC3, PPS, SC3, [0x65, 0x88, 0x84], bytes(40, 1)) },
  { name: 'non-idr slice',
    frame: cat(SC4, [0x41, 0x9a, 0x02], bytes(30, 2)) },
  { name: 'two slices, the second with first_mb_in_slice 300 (multi-byte Exp-Golomb)',
    // 300+1 = 301 = 0b100101101: 8 leading zeros; then slice_type 0 ('1'), pps_id 0 ('1')
    frame: cat(SC4, [0x65, 0xb8], bytes(20, 3), SC3, [0x65, 0x00, 0x96, 0xb0], bytes(20, 4)) },
  { name: 'emulation prevention byte inside the slice header',
    // after the header: 00 00 03 01 ... (the 03 is skipped; 23 zero bits then a 1: first_mb_in_slice large)
    frame: cat(SC4, [0x41, 0x00, 0x00, 0x03, 0x01, 0xff, 0xc0], bytes(12, 5)) },
  { name: 'sei and aud: aud whole clear, sei header only',
    frame: cat(SC4, [0x09, 0xf0], SC4, [0x06, 0x05, 0x10], bytes(16, 6), SC4, [0x41, 0xe0], bytes(10, 7)) },
  { name: 'unparsable slice header (no 1 bit within 32): header only',
    frame: cat(SC4, [0x41, 0, 0, 0, 0, 0x80]) },
  { name: 'empty nal unit between two slices (left out)',
    frame: cat(SC4, [0x41, 0xe0], bytes(6, 8), SC4, SC4, [0x41, 0xe0], bytes(6, 9)) },
  { name: 'not annex b', frame: cat([0x65, 0x88, 0x84], bytes(8, 10)), error: 'unsupported-codec' },
];

const cases = inputs.map((c) => {
  if (c.error) return { name: c.name, frame: toHex(c.frame), error: c.error };
  const l = layout(c.frame);
  return { name: c.name, frame: toHex(c.frame), layout: toHex(l.frame), clear_ranges: l.ranges };
});

const BASE_KEY = fromHex('a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0');
const frames = [];
for (const [name, kid, firstCtr, input] of [
  ['gcm128 idr, kid 3', 3n, 0n, inputs[0].frame],
  ['gcm128 two slices, kid 3, ctr 1000', 3n, 1000n, inputs[2].frame],
  ['gcm128 kid 0x010000: ctr 0..7 emulate 00 00 00 with the ranges (encrypted again until ctr 8)', 0x010000n, 0n,
    inputs[1].frame],
]) {
  const s = new SFrameSender(4, firstCtr);
  await s.setKey(kid, BASE_KEY);
  const info = {};
  const out = await s.encryptFrame(CODECS.h264, undefined, input, info);
  frames.push({ name, cipher_suite: 4, base_key: toHex(BASE_KEY), kid: String(kid), first_ctr: String(firstCtr),
    frame: toHex(input), ctr: String(info.ctr), attempts: info.attempts, encrypted: toHex(out) });
}

const doc = {
  description: 'H.264 per-NAL clear ranges (docs/PROTOCOL.md §2.9). cases: frame → layout (every start code 00 00 00 01) '
    + 'and clear_ranges [[offset, length]] in the layout, or error. frames: SFrame with ranges: encrypted = I ‖ H ‖ R ‖ '
    + 'T ‖ r, the sender starting at first_ctr and taking the next CTR while the output holds an emulated start code; '
    + 'ctr is the CTR used, attempts how many CTRs were taken.',
  cases,
  frames,
};
writeFileSync(path.join(ROOT, 'test-vectors/codec-h264.json'), JSON.stringify(doc, null, 2) + '\n');
console.log('wrote test-vectors/codec-h264.json');

// ------------------------------------------------------------------------------------------ codec-clear-ranges.json

const PREFIX_FRAME = cat([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0xa0, 0x00, 0x78, 0x00], bytes(8, 20));
const prefix = [
  ['vp8', 'key', PREFIX_FRAME], ['vp8', 'delta', cat([0x31], bytes(12, 21))],
  ['vp8', null, PREFIX_FRAME], ['vp8', null, cat([0x31], bytes(12, 22))], ['vp8', 'key', cat([0x10, 0x02])],
  ['opus', null, cat([0xfc], bytes(20, 23))], ['opus', null, new Uint8Array(0)], ['none', 'key', bytes(20, 24)],
].map(([codec, type, frame]) => ({ codec, frame_type: type, frame: toHex(frame),
  clear_prefix: CODECS[codec].clearPrefixLength(frame, type === null ? undefined : type) }));

// AV1 OBU headers: type << 3 | extension 0x04 | has-size 0x02
const obu = (type, payload, { ext = null, size = true, sizeBytes = null } = {}) => {
  const h = [(type << 3) | (ext === null ? 0 : 4) | (size ? 2 : 0)];
  if (ext !== null) h.push(ext);
  if (size) {
    if (sizeBytes) h.push(...sizeBytes);
    else {
      let v = payload.length;
      do { let b = v & 0x7f; v = Math.floor(v / 128); if (v) b |= 0x80; h.push(b); } while (v);
    }
  }
  return cat(h, payload);
};
const TD = obu(2, []);
const SEQ = obu(1, [0x00, 0x00, 0x00, 0x03, 0xb4, 0xff, 0x70, 0x06, 0x80, 0x20]);
const av1Inputs = [
  { name: 'key frame: temporal delimiter (left out), sequence header, frame', frame: cat(TD, SEQ, obu(6, bytes(161, 30))) },
  { name: 'delta frame: temporal delimiter, frame', frame: cat(TD, obu(6, bytes(38, 31))) },
  { name: 'extension bytes (temporal layers): frame header and tile group with temporal_id 1',
    frame: cat(TD, obu(3, bytes(9, 32), { ext: 0x20 }), obu(4, bytes(50, 33), { ext: 0x20 })) },
  { name: 'metadata kept, padding and tile list left out', frame: cat(TD, obu(5, bytes(6, 34)), obu(15, bytes(5, 35)),
    obu(6, bytes(20, 36)), obu(8, bytes(4, 37))) },
  { name: 'last OBU already without a size field', frame: cat(SEQ, obu(6, bytes(30, 38), { size: false })) },
  { name: 'non-minimal obu_size rewritten minimal', frame: cat(obu(5, bytes(5, 39), { sizeBytes: [0x85, 0x80, 0x00] }),
    obu(6, bytes(12, 40))) },
  { name: 'empty frame header between two OBUs: adjacent clear ranges merge',
    frame: cat(obu(5, bytes(4, 41)), obu(3, []), obu(6, bytes(10, 42))) },
  { name: 'payload of 200 bytes: 2-byte obu_size', frame: cat(obu(6, bytes(200, 43)), obu(5, bytes(3, 44))) },
  { name: 'obu_size beyond the frame', frame: cat([0x32, 0x40], bytes(10, 45)), error: 'unsupported-codec' },
  { name: 'forbidden bit set', frame: cat([0xb2, 0x02, 0x01, 0x02]), error: 'unsupported-codec' },
  { name: 'only a temporal delimiter', frame: TD, error: 'unsupported-codec' },
];
const av1Cases = av1Inputs.map((c) => {
  if (c.error) return { name: c.name, frame: toHex(c.frame), error: c.error };
  const l = av1.layout(c.frame);
  return { name: c.name, frame: toHex(c.frame), layout: toHex(l.frame), clear_ranges: l.ranges,
    restored: toHex(av1.restore(l.frame)) };
});

/** What the receiver's depacketizer gives for a sent frame: every OBU with a minimal size field. */
function depacketized(sent) {
  const parts = [];
  for (const o of av1.obus(sent)) {
    parts.push(o.header | 2);
    if (o.ext >= 0) parts.push(o.ext);
    let v = o.end - o.payload;
    do { let b = v & 0x7f; v = Math.floor(v / 128); if (v) b |= 0x80; parts.push(b); } while (v);
    parts.push(...sent.subarray(o.payload, o.end));
  }
  return Uint8Array.from(parts);
}

const av1Frames = [];
for (const [name, kid, ctr, input] of [
  ['gcm128 key frame, kid 3', 3n, 0n, av1Inputs[0].frame],
  ['gcm128 extension bytes, kid 3, ctr 70000', 3n, 70000n, av1Inputs[2].frame],
  ['gcm128 metadata, padding and tile list, kid 0x010000', 0x010000n, 5n, av1Inputs[3].frame],
]) {
  const s = new SFrameSender(4, ctr);
  await s.setKey(kid, BASE_KEY);
  const out = await s.encryptFrame(CODECS.av1, undefined, input, {});
  av1Frames.push({ name, cipher_suite: 4, base_key: toHex(BASE_KEY), kid: String(kid), ctr: String(ctr),
    frame: toHex(input), encrypted: toHex(out), received: toHex(depacketized(out)),
    decrypted: toHex(av1.restore(av1.layout(input).frame)) });
}

const rangesDoc = {
  description: 'Codec clear-range rules shared by veil-js (src/e2ee/codec.js, av1.js) and veil-e2ee (dev.veil.e2ee.codec); '
    + 'docs/PROTOCOL.md §2.9. H.264 is in codec-h264.json. prefix: codec (vp8, opus, none = VP9 and every codec '
    + 'encrypted whole), frame_type (key, delta or null = unknown), frame → clear_prefix (bytes). av1.cases: frame → '
    + 'layout (temporal delimiters, tile lists and padding left out, every OBU but the last with a minimal obu_size, '
    + 'the last without one) and clear_ranges [[offset, length]] (OBU header, extension, obu_size), restored (the '
    + 'layout with the last OBU given its size field back: what the receiver decodes), or error. av1.frames: SFrame '
    + 'with ranges (encrypted = I ‖ H ‖ R ‖ T ‖ r, no retry: AV1 has no start codes) under kid and ctr; received = '
    + 'encrypted as the RTP depacketizer gives it (every OBU with a minimal obu_size, so the last one covers the '
    + 'trailer); decrypted = what decrypting received gives.',
  prefix,
  av1: { cases: av1Cases, frames: av1Frames },
};
writeFileSync(path.join(ROOT, 'test-vectors/codec-clear-ranges.json'), JSON.stringify(rangesDoc, null, 2) + '\n');
console.log('wrote test-vectors/codec-clear-ranges.json');
