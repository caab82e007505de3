// Writes test-vectors/mls-sframe.json: the pure parts of the MLS key mode (docs/PROTOCOL.md §4.4, §4.5) that the
// browser (src/e2ee/mls-kid.js) and Java (veil-e2ee MlsKid, MlsVerificationCode) must compute alike: S for group
// sizes, KIDs (RFC 9605 §5.2 figure with E = 4, S = 6, and Veil's E = 8), and verification codes of epoch
// authenticators. Deterministic: `node veil-js/test-support/e2ee/gen-mls-vectors.mjs` writes the same bytes.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { indexBits, kidOf, verificationCodeOf, EPOCH_BITS } from '../../src/e2ee/mls-kid.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const FILE = path.resolve(here, '../../../test-vectors/mls-sframe.json');

function bytes(label, n) {
  const out = [];
  for (let i = 0; out.length < n; i++) out.push(...createHash('sha256').update(label).update(Buffer.from([i])).digest());
  return Buffer.from(out.slice(0, n));
}

export function vectors() {
  const kids = [];
  // RFC 9605 §5.2 figure: E = 4, S = 6
  for (const [context, index, epoch] of [[0, 3, 14], [0, 7, 14], [0, 20, 14], [0, 3, 15], [0, 5, 15], [2, 2, 16],
    [3, 2, 16], [0, 33, 17], [0, 51, 17]]) {
    kids.push({ context, sender_index: index, epoch, index_bits: 6, epoch_bits: 4, kid: kidOf(context, index, epoch, 6, 4).toString() });
  }
  // Veil: context 0, E = 8
  for (const [index, epoch, size] of [[0, 0, 1], [1, 1, 2], [5, 300, 6], [2, 255, 3], [2, 256, 3], [99, 4097, 100],
    [0, 123456789, 2]]) {
    const s = indexBits(size);
    kids.push({ context: 0, sender_index: index, epoch, index_bits: s, epoch_bits: EPOCH_BITS,
      kid: kidOf(0, index, epoch, s, EPOCH_BITS).toString() });
  }
  const sizes = [1, 2, 3, 4, 7, 8, 63, 64, 100, 65535].map((n) => ({ group_size: n, index_bits: indexBits(n) }));
  const codes = [{ epoch_authenticator: 'aabbccddee'.repeat(6) + 'ff00', code: verificationCodeOf(Buffer.from('aabbccddee'.repeat(6) + 'ff00', 'hex')) }];
  for (const label of ['epoch 1', 'epoch 2', 'zeros', 'ones']) {
    const a = label === 'zeros' ? Buffer.alloc(32) : label === 'ones' ? Buffer.alloc(32, 0xff) : bytes(label, 32);
    codes.push({ epoch_authenticator: a.toString('hex'), code: verificationCodeOf(a) });
  }
  return {
    description: 'MLS key mode: S (index bits) per group size, RFC 9605 §5.2 KIDs (decimal), verification codes of '
      + 'epoch authenticators (docs/PROTOCOL.md §4.4, §4.5). Written by veil-js/test-support/e2ee/gen-mls-vectors.mjs.',
    index_bits: sizes,
    kids,
    codes,
  };
}

export function text() {
  return JSON.stringify(vectors(), null, 2) + '\n';
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(FILE, text());
  console.log('wrote ' + FILE);
}
