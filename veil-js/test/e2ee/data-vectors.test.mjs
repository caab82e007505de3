// E2EE data messages against test-vectors/data-messages.json (shared with veil-client's DataVectorsTest): sealing the
// same messages in order gives the same payloads, each opens to its kind and body, and a re-addressed one fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DataCrypto } from '../../src/e2ee/data.js';
import { toHex, fromHex } from '../../src/e2ee/bytes.js';

const V = JSON.parse(readFileSync(new URL('../../../test-vectors/data-messages.json', import.meta.url)));

test('data-messages.json: sealing in order gives the known payloads', async () => {
  assert.ok(V.messages.length >= 5);
  const d = new DataCrypto();
  await d.setSendKey(BigInt(V.kid), fromHex(V.base_key));
  for (const m of V.messages) {
    assert.equal(toHex(await d.seal(m.to, m.kind, fromHex(m.body))), m.payload, m.name);
  }
});

test('data-messages.json: every payload opens to its kind and body; another addressee fails', async () => {
  const d = new DataCrypto();
  await d.installKey(V.from, BigInt(V.kid), fromHex(V.base_key), 0);
  for (const m of V.messages) {
    await assert.rejects(d.open(V.from, m.to === null ? V.other_addressee : null, fromHex(m.payload), 0),
      (e) => e.reason === 'bad-tag', m.name + ': re-addressed');
    const o = await d.open(V.from, m.to, fromHex(m.payload), 0);
    assert.equal(o.kind, m.kind, m.name);
    assert.equal(toHex(o.body), m.body, m.name);
  }
});
