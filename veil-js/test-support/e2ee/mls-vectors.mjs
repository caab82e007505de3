// Loading of the official MLS interoperability vectors (top-level test-vectors/mls/, mlswg/mls-implementations
// cfd4502, see its README.md) for the JS suite, which runs them through ts-mls. The Java suite reads the same files
// (veil-e2ee MlsVectorsTest). Every file is checked against test-vectors/mls/SHA256SUMS before it is parsed, so a
// vector file that was edited (or lost cases) fails loudly instead of testing less.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getCiphersuiteImpl, getCiphersuiteFromName } from 'ts-mls';
import { PROJECT_VECTORS } from './vectors.mjs';

/** test-vectors/mls/ */
export const MLS_VECTORS = join(PROJECT_VECTORS, 'mls');

/** The only cipher suite the project uses (RFC 9420 §17.1, value 0x0001). */
export const SUITE_ID = 1;
export const SUITE_NAME = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519';

/** name → hex SHA-256 from SHA256SUMS. */
function sums() {
  const out = new Map();
  for (const line of readFileSync(join(MLS_VECTORS, 'SHA256SUMS'), 'utf8').split('\n')) {
    const m = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line.trim());
    if (m) out.set(m[2], m[1]);
  }
  return out;
}

/**
 * The cases of `file` for cipher suite 1, in file order, after checking the file's SHA-256 against SHA256SUMS.
 * Returns { cases, total } (total = cases in the file, all suites).
 */
export function suite1Cases(file) {
  const bytes = readFileSync(join(MLS_VECTORS, file));
  const want = sums().get(file);
  assert.ok(want, file + ' is not listed in test-vectors/mls/SHA256SUMS');
  assert.equal(createHash('sha256').update(bytes).digest('hex'), want, file + ' differs from SHA256SUMS');
  const all = JSON.parse(bytes.toString('utf8'));
  assert.ok(Array.isArray(all), file + ' is not a JSON array');
  const cases = all.filter((c) => c.cipher_suite === undefined || c.cipher_suite === SUITE_ID);
  return { cases, total: all.length };
}

/** Hex string → Uint8Array (throws on odd length or a non-hex digit). */
export function hex(s) {
  assert.equal(typeof s, 'string', 'hex field missing');
  assert.ok(s.length % 2 === 0 && /^[0-9a-f]*$/i.test(s), 'not hex: ' + s.slice(0, 16));
  return Uint8Array.from(Buffer.from(s, 'hex'));
}

/** Uint8Array → lower-case hex. */
export function toHex(b) {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Asserts two byte strings are equal, printing them in hex when they are not. */
export function assertBytes(actual, expectedHex, what) {
  assert.ok(actual instanceof Uint8Array, what + ': not bytes');
  assert.equal(toHex(actual), expectedHex.toLowerCase(), what);
}

/** Runs a ts-mls Decoder over the whole of `bytes`: fails if it does not decode or leaves bytes over. */
export function decodeAll(decoder, bytes, what) {
  const r = decoder(bytes, 0);
  assert.ok(r !== undefined, what + ' did not decode');
  assert.equal(r[1], bytes.length, what + ': decoded ' + r[1] + ' of ' + bytes.length + ' bytes');
  return r[0];
}

let impl;
/** ts-mls's implementation of cipher suite 1 (its default crypto provider: WebCrypto + @hpke/core). */
export async function suite1() {
  impl ??= await getCiphersuiteImpl(getCiphersuiteFromName(SUITE_NAME));
  return impl;
}
