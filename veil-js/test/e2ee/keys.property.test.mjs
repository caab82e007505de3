// Property-based tests (fast-check) of the browser SDK's key-management parsers: what the server relays (bundles
// in metadata, sealed pairwise envelopes) and what a peer seals (key messages). Seeded for determinism.
//  - no throw other than E2EEError with the module's documented reason;
//  - round trips: key messages, bundles (canonical JSON), pairwise envelopes (header rebuilt from its fields);
//  - any mutation of an authenticated input (bundle signature / keys, sealed message bits) is rejected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { E2EEError } from '../../src/e2ee/errors.js';
import { decodeKeyMessage, encodeKey, encodeKeyAck } from '../../src/e2ee/keymessages.js';
import { Identity, Bundle } from '../../src/e2ee/identity.js';
import { PairwiseChannel, decodeMessage, messageHeader, MAX_LENGTH } from '../../src/e2ee/pairwise.js';
import { fromHex } from '../../src/e2ee/bytes.js';

const SEED = 0x5eed2026;
const U64 = (1n << 64n) - 1n;
const A = '6F9ZQ0Y8RX3BKTT2H0N1D5SVKC';
const B = '0SS3B2Q6G5JBNBR9XWWZ7EZWG8';
const OPEN_REASONS = new Set(['malformed', 'unsupported-version', 'wrong-recipient', 'wrong-sender', 'replay',
  'bad-tag']);

function expectReason(reasons, fn) {
  try {
    return { value: fn() };
  } catch (e) {
    assert.ok(e instanceof E2EEError, 'untyped error: ' + (e && e.stack));
    assert.ok(reasons.has(e.reason), 'unexpected reason ' + e.reason);
    return { error: e };
  }
}

async function expectReasonAsync(reasons, fn) {
  try {
    return { value: await fn() };
  } catch (e) {
    assert.ok(e instanceof E2EEError, 'untyped error: ' + (e && e.stack));
    assert.ok(reasons.has(e.reason), 'unexpected reason ' + e.reason);
    return { error: e };
  }
}

function flipBit(b, bit) {
  const out = Uint8Array.from(b);
  const i = bit % (out.length * 8);
  out[i >> 3] ^= 1 << (i & 7);
  return out;
}

function reencode(m) {
  return m.type === 'key' ? encodeKey(m.kid, m.baseKey, m.active) : encodeKeyAck(m.kid);
}

test('keyMessage_anyBytes_malformedOrExactRoundTrip', () => {
  const near = fc.oneof(fc.uint8Array({ maxLength: 64 }),
    fc.tuple(fc.constantFrom(1, 2), fc.nat(255), fc.uint8Array({ minLength: 8, maxLength: 40 }))
      .map(([t, f, rest]) => Uint8Array.from([t, f, ...rest])));
  fc.assert(fc.property(near, (bytes) => {
    const r = expectReason(new Set(['malformed-key-message']), () => decodeKeyMessage(bytes));
    if (r.value) assert.deepEqual(reencode(r.value), bytes, 'encode(decode(x)) != x');
  }), { seed: SEED, numRuns: 5000 });
});

test('keyMessage_anyKidAndKey_roundTrips', () => {
  fc.assert(fc.property(fc.bigInt(0n, U64), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.boolean(),
    (kid, key, active) => {
      const m = decodeKeyMessage(encodeKey(kid, key, active));
      assert.equal(m.kid, kid);
      assert.deepEqual(m.baseKey, key);
      assert.equal(m.active, active);
      assert.equal(decodeKeyMessage(encodeKeyAck(kid)).kid, kid);
    }), { seed: SEED, numRuns: 2000 });
});

const identities = (async () => {
  const alice = await Identity.fromPrivateKeys(fromHex('11'.repeat(32)), fromHex('33'.repeat(32)));
  const bob = await Identity.fromPrivateKeys(fromHex('22'.repeat(32)), fromHex('44'.repeat(32)));
  return { alice, bob };
})();

test('bundle_anyJson_badBundleOrCanonicalRoundTrip', async () => {
  const { bob } = await identities;
  const real = bob.bundle(B).toJson();
  const texts = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.json({ maxDepth: 4 }),
    fc.record({ version: fc.oneof(fc.constant(1), fc.integer()), identity_key: fc.string(), kx_key: fc.string(),
      signature: fc.string() }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
    // the real bundle with one character replaced, inserted or removed
    fc.tuple(fc.nat(real.length), fc.string({ minLength: 1, maxLength: 1 }), fc.constantFrom('replace', 'insert', 'delete')).map(([i, c, op]) =>
      real.slice(0, i) + (op === 'delete' ? '' : c) + real.slice(op === 'insert' ? i : i + 1)));
  await fc.assert(fc.asyncProperty(texts, async (text) => {
    const r = expectReason(new Set(['bad-bundle']), () => Bundle.fromJson(B, text));
    if (!r.value) return;
    const b = r.value;
    const canonical = b.toJson();
    assert.ok(canonical.length <= text.length, 'canonical form longer than the input');
    const again = Bundle.fromJson(B, canonical);
    assert.deepEqual([again.identityKey, again.kxKey, again.signature], [b.identityKey, b.kxKey, b.signature]);
    const ok = await b.verify();
    const same = canonical === real;
    assert.equal(ok, same, same ? 'the real bundle failed to verify' : 'a mutated bundle verified: ' + canonical);
  }), { seed: SEED, numRuns: 600 });
});

test('pairwise_decode_anyBytes_malformedOrHeaderRebuilt', () => {
  const idArb = fc.constantFrom(A, B, 'x', '\uE000-dave', '\uD83D\uDE00-erin');
  const near = fc.oneof(fc.uint8Array({ maxLength: 80 }),
    fc.tuple(idArb, idArb, fc.nat(), fc.uint8Array({ maxLength: 40 }))
      .map(([s, r, seq, ct]) => {
        const h = messageHeader(s, r, seq);
        const m = new Uint8Array(h.length + ct.length);
        m.set(h);
        m.set(ct, h.length);
        return m;
      }));
  fc.assert(fc.property(near, (m) => {
    const r = expectReason(new Set(['malformed', 'unsupported-version']), () => decodeMessage(m));
    if (!r.value) return;
    const d = r.value;
    assert.ok(m.length <= MAX_LENGTH);
    assert.deepEqual(messageHeader(d.sender, d.recipient, d.seq), Uint8Array.from(d.header));
    assert.equal(d.header.length + d.ciphertext.length, m.length);
    assert.ok(d.ciphertext.length >= 16);
  }), { seed: SEED, numRuns: 5000 });
});

test('pairwise_open_sealedRoundTrips_anyMutationOrReplayRejected', async () => {
  const { alice, bob } = await identities;
  const bobToAlice = await PairwiseChannel.create(bob, B, alice.bundle(A));
  const aliceFromBob = await PairwiseChannel.create(alice, A, bob.bundle(B));
  await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), fc.nat(), fc.nat(), fc.uint8Array({ maxLength: 90 }),
    async (plain, bit, cut, junk) => {
      const raw = await expectReasonAsync(OPEN_REASONS, () => aliceFromBob.open(junk));
      assert.ok(raw.error, 'unauthenticated bytes opened');
      const sealed = await bobToAlice.seal(plain);
      const flipped = await expectReasonAsync(OPEN_REASONS, () => aliceFromBob.open(flipBit(sealed, bit)));
      assert.ok(flipped.error, 'a sealed message with a flipped bit opened');
      const short = await expectReasonAsync(OPEN_REASONS, () => aliceFromBob.open(sealed.subarray(0, cut % sealed.length)));
      assert.ok(short.error, 'a truncated sealed message opened');
      assert.deepEqual(await aliceFromBob.open(sealed), plain);
      const again = await expectReasonAsync(OPEN_REASONS, () => aliceFromBob.open(sealed));
      assert.equal(again.error && again.error.reason, 'replay');
    }), { seed: SEED, numRuns: 300 });
});
