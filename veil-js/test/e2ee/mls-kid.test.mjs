// test-vectors/mls-sframe.json (shared with veil-e2ee's MlsSFrameVectorsTest): S, RFC 9605 §5.2 KIDs and the
// verification code of epoch authenticators, as src/e2ee/mls-kid.js computes them; and the file is what
// test-support/e2ee/gen-mls-vectors.mjs writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FILE, text } from '../../test-support/e2ee/gen-mls-vectors.mjs';
import { indexBits, kidOf, kidEpochBits, kidSenderIndex, verificationCodeOf, displayCode, EPOCH_BITS } from '../../src/e2ee/mls-kid.js';
import { fromHex } from '../../src/e2ee/bytes.js';

const v = JSON.parse(readFileSync(FILE, 'utf8'));

test('mls-sframe.json: the committed file is what the generator writes', () => {
  assert.equal(readFileSync(FILE, 'utf8'), text());
});

test('mls-sframe.json: S per group size', () => {
  assert.ok(v.index_bits.length >= 10);
  for (const c of v.index_bits) assert.equal(indexBits(c.group_size), c.index_bits, `size ${c.group_size}`);
  assert.throws(() => indexBits(0), RangeError);
});

test('mls-sframe.json: KIDs of the RFC 9605 §5.2 figure and Veil\'s E = 8, and back', () => {
  assert.ok(v.kids.length >= 16);
  for (const c of v.kids) {
    const kid = kidOf(c.context, c.sender_index, c.epoch, c.index_bits, c.epoch_bits);
    assert.equal(kid.toString(), c.kid, JSON.stringify(c));
    if (c.epoch_bits === EPOCH_BITS) {
      assert.equal(kidEpochBits(kid), c.epoch % 256);
      assert.equal(kidSenderIndex(kid, c.index_bits), c.sender_index);
    }
  }
  // the figure's first row: index 3, epoch 14, S = 6, E = 4 → 0x3e
  assert.equal(v.kids[0].kid, String(0x3e));
  assert.throws(() => kidOf(0, 8, 1, 3), /does not fit/);
});

test('mls-sframe.json: verification codes (DAVE\'s displayable-code rule: aabbccddee → 05870)', () => {
  assert.equal(displayCode(fromHex('aabbccddee'), 5, 5, ''), '05870');
  for (const c of v.codes) assert.equal(verificationCodeOf(fromHex(c.epoch_authenticator)), c.code);
  assert.equal(new Set(v.codes.map((c) => c.code)).size, v.codes.length);
  assert.throws(() => verificationCodeOf(new Uint8Array(29)), RangeError);
});
