// Writes test-vectors/codec-h264.json (deterministic): `node test-support/e2ee/gen-codec-vectors.mjs` in veil-js.
// Read by test/e2ee/codec-h264.test.mjs and veil-e2ee's H264ClearRangesTest; schema in docs/PROTOCOL.md §2.9.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { layout } from '../../src/e2ee/h264.js';
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
