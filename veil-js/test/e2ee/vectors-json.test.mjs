import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJsonExact, big } from '../../test-support/e2ee/vectors.mjs';

test('parseJsonExact_bigIntegers_keptExact', () => {
  const v = parseJsonExact('{"kid": 18446744073709551615, "ctr": 7, "s": "12345678901234567890", "a": [1.5, -2]}');
  assert.equal(big(v.kid), (1n << 64n) - 1n);
  assert.equal(v.ctr, 7);
  assert.equal(v.s, '12345678901234567890');
  assert.deepEqual(v.a, [1.5, -2]);
});

test('parseJsonExact_escapedQuoteInString_notConfused', () => {
  const v = parseJsonExact('{"s": "a\\" 12345678901234567890", "n": 12345678901234567890}');
  assert.equal(v.s, 'a" 12345678901234567890');
  assert.equal(v.n, '12345678901234567890');
});
