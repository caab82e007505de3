// The codecs with per-unit clear ranges (docs/PROTOCOL.md §2.9), one body for each: AV1 (test-vectors/
// codec-clear-ranges.json) and H.264 (test-vectors/codec-h264.json). Every case's layout and clear ranges, or its
// refusal (AV1 also: the restored frame and the receiver's form), and JFrame's refusal of the codec (it has no ranged
// layout) instead of sending it in clear. The frames, tampering and property runs: codec-av1.test.mjs and
// codec-h264.test.mjs; veil-e2ee's ClearRangeCasesTest reads the same cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as av1 from '../../src/e2ee/av1.js';
import * as h264 from '../../src/e2ee/h264.js';
import { CODECS } from '../../src/e2ee/codec.js';
import { JFrameSender } from '../../src/e2ee/jframe.js';
import { toHex, fromHex } from '../../src/e2ee/bytes.js';

const read = (file) => JSON.parse(readFileSync(new URL('../../../test-vectors/' + file, import.meta.url)));

const RULES = [
  {
    name: 'av1', file: 'codec-clear-ranges.json', vectors: (v) => v.av1, layout: av1.layout, codec: CODECS.av1,
    atLeast: 10,
    more(c, l) {
      assert.equal(toHex(av1.restore(l.frame)), c.restored, c.name);
      assert.equal(toHex(av1.received(fromHex(c.restored))), c.layout, c.name + ': received() undoes restore()');
    },
  },
  { name: 'h264', file: 'codec-h264.json', vectors: (v) => v, layout: h264.layout, codec: CODECS.h264, atLeast: 8 },
];

for (const rule of RULES) {
  const V = rule.vectors(read(rule.file));

  test(`${rule.file} ${rule.name} cases: layout and clear ranges`, () => {
    assert.ok(V.cases.length >= rule.atLeast);
    for (const c of V.cases) {
      if (c.error) {
        assert.throws(() => rule.layout(fromHex(c.frame)), (e) => e.reason === c.error, c.name);
        continue;
      }
      const l = rule.layout(fromHex(c.frame));
      assert.equal(toHex(l.frame), c.layout, c.name);
      assert.deepEqual(l.ranges, c.clear_ranges, c.name);
      if (rule.more) rule.more(c, l);
    }
  });

  test(`JFrame refuses ${rule.name} (it has no ranged layout) instead of sending it in clear`, async () => {
    const s = new JFrameSender();
    await s.setKey(0, new Uint8Array(32).fill(1));
    await assert.rejects(s.encrypt(rule.codec, 'key', 1, 1, fromHex(V.frames[0].frame)),
      (e) => e.reason === 'unsupported-codec');
  });
}
