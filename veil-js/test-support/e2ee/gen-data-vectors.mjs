// Writes test-vectors/data-messages.json (deterministic): `node test-support/e2ee/gen-data-vectors.mjs` in veil-js.
// E2EE data messages (docs/PROTOCOL.md §1.7): one sender's messages in order (its data counter from 0), each with
// its addressee, kind, body and the sealed payload the server relays; read by test/e2ee/data-vectors.test.mjs and
// veil-client's DataVectorsTest.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { DataCrypto, KIND_BYTES, KIND_TEXT, DATA_SUITE } from '../../src/e2ee/data.js';
import { toHex, fromHex, utf8 } from '../../src/e2ee/bytes.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BASE_KEY = fromHex('0f0e0d0c0b0a09080706050403020100f0e1d2c3b4a5968778695a4b3c2d1e0f');
const KID = (5n << 8n) | 2n; // generation 5, ratchet step 2
const SENDER = 'AAAAAAAAAAAAAAAAAAAAAAAAAA';
const BOB = 'BBBBBBBBBBBBBBBBBBBBBBBBBB';

const inputs = [
  { name: 'text to everyone', to: null, kind: KIND_TEXT, body: utf8('hello') },
  { name: 'bytes to one member', to: BOB, kind: KIND_BYTES, body: Uint8Array.from([0, 1, 2, 0xff]) },
  { name: 'empty text to everyone', to: null, kind: KIND_TEXT, body: new Uint8Array(0) },
  { name: 'UTF-8 text to one member', to: BOB, kind: KIND_TEXT, body: utf8('h\u00e9llo \u2713 \ud83d\udd12') },
  { name: '300 bytes to everyone', to: null, kind: KIND_BYTES,
    body: Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff) },
];

const d = new DataCrypto();
await d.setSendKey(KID, BASE_KEY);
const messages = [];
for (const m of inputs) {
  const payload = await d.seal(m.to, m.kind, m.body);
  messages.push({ name: m.name, to: m.to, kind: m.kind, body: toHex(m.body), payload: toHex(payload) });
}
const doc = {
  description: 'E2EE data messages (docs/PROTOCOL.md §1.7). One sender (from) with base_key under kid (decimal; '
    + 'generation << 8 | step) seals messages in order (its data SFrame counter from 0; cipher_suite '
    + 'AES_128_CTR_HMAC_SHA256_80). payload = SFrame header ‖ ciphertext ‖ tag of kind ‖ body, AAD metadata = '
    + '"Veil data 1" ‖ 0x00 ‖ UTF-8 addressee (to; empty for null = everyone). A receiver holding the key opens each '
    + 'payload (from, to) to kind and body; opened with another addressee it fails authentication.',
  cipher_suite: DATA_SUITE,
  base_key: toHex(BASE_KEY),
  kid: String(KID),
  from: SENDER,
  other_addressee: 'CCCCCCCCCCCCCCCCCCCCCCCCCC',
  messages,
};
writeFileSync(path.join(ROOT, 'test-vectors/data-messages.json'), JSON.stringify(doc, null, 2) + '\n');
console.log('wrote test-vectors/data-messages.json');
