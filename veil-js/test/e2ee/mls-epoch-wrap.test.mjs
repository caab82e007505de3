// The MLS key mode across an epoch wrap (the KID's low 8 bits go 255 -> 0, every 256 epochs): the worker's receiver
// (no ratchet, as in `setFormat {keyMode: 'mls'}`) keeps the previous epoch's key for its 2 s grace, as the Java
// SDK's MlsFrameCrypto does, instead of dropping it at once. Fake clock: every `now` is given by the test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SFrameSender, SFrameReceiver, KEY_GRACE_MILLIS, REORDER_MILLIS, DEFAULT_KEY_RING_CAPACITY } from '../../src/e2ee/sframe.js';
import { CODECS } from '../../src/e2ee/codec.js';
import { mlsKid, GRACE_MILLIS } from '../../src/e2ee/mls-kid.js';

const SENDER = 1;
const S = 2;
const keyOf = (epoch) => new Uint8Array(16).fill(epoch % 251 + 1);
const frame = (n) => Uint8Array.from([0xf8, n & 0xff, 2, 3, 4, 5]);

async function senderAt(epoch) {
  const s = new SFrameSender();
  await s.setKey(mlsKid(SENDER, epoch, S), keyOf(epoch));
  return s;
}

async function opens(r, sealed, now) {
  try {
    await r.decryptFrame(CODECS.opus, undefined, sealed, null, now);
    return 'ok';
  } catch (e) {
    return e.code || e.reason || e.message;
  }
}

function mlsReceiver() {
  return new SFrameReceiver(undefined, DEFAULT_KEY_RING_CAPACITY, { ratchet: false });
}

test('mls epoch wrap: the previous epoch (255) stays usable for the 2 s grace after epoch 256 (bits 0)', async () => {
  assert.equal(KEY_GRACE_MILLIS, GRACE_MILLIS);
  const r = mlsReceiver();
  const old = await senderAt(255);
  const neu = await senderAt(256);
  assert.ok(mlsKid(SENDER, 256, S) < mlsKid(SENDER, 255, S), 'the KID wraps');
  assert.equal(await r.addKey(mlsKid(SENDER, 254, S), keyOf(254), 0), true);
  assert.equal(await r.addKey(mlsKid(SENDER, 255, S), keyOf(255), 1_000), true);
  assert.equal(await opens(r, await old.encryptFrame(CODECS.opus, undefined, frame(1)), 4_000), 'ok');
  assert.equal(r.hasKey(mlsKid(SENDER, 254, S)), false, 'epoch 254 is gone after its grace');

  // the wrap at t = 5000
  assert.equal(await r.addKey(mlsKid(SENDER, 256, S), keyOf(256), 5_000), true, 'the new epoch is installed');
  // frames still in flight under epoch 255 open during the whole grace (the sender has not switched yet)
  assert.equal(await opens(r, await old.encryptFrame(CODECS.opus, undefined, frame(2)), 5_100), 'ok');
  assert.equal(await opens(r, await old.encryptFrame(CODECS.opus, undefined, frame(4)), 5_000 + GRACE_MILLIS - 1),
    'ok', 'a frame of the old epoch within the grace');
  // after the grace: epoch 255 is refused, epoch 256 works on
  assert.notEqual(await opens(r, await old.encryptFrame(CODECS.opus, undefined, frame(5)), 5_000 + GRACE_MILLIS), 'ok');
  assert.equal(r.hasKey(mlsKid(SENDER, 255, S)), false);
  assert.equal(await opens(r, await neu.encryptFrame(CODECS.opus, undefined, frame(3)), 5_000 + GRACE_MILLIS), 'ok',
    'old frames under 255 never cut the new epoch short');
  assert.equal(await opens(r, await neu.encryptFrame(CODECS.opus, undefined, frame(6)), 9_000), 'ok');

  // the next epoch orders normally again: 256 expires within the grace of 257
  const next = await senderAt(257);
  assert.equal(await r.addKey(mlsKid(SENDER, 257, S), keyOf(257), 10_000), true);
  assert.equal(await opens(r, await neu.encryptFrame(CODECS.opus, undefined, frame(7)), 10_000 + GRACE_MILLIS - 1), 'ok');
  assert.equal(await opens(r, await next.encryptFrame(CODECS.opus, undefined, frame(8)), 10_000 + GRACE_MILLIS), 'ok');
  assert.equal(r.hasKey(mlsKid(SENDER, 256, S)), false);
});

test('mls epoch wrap: a frame under the new epoch ends the old one after the reorder window, as without a wrap', async () => {
  const r = mlsReceiver();
  const old = await senderAt(511);
  const neu = await senderAt(512);
  assert.equal(await r.addKey(mlsKid(SENDER, 510, S), keyOf(510), 0), true);
  assert.equal(await r.addKey(mlsKid(SENDER, 511, S), keyOf(511), 100), true);
  await opens(r, await old.encryptFrame(CODECS.opus, undefined, frame(1)), 3_000); // 510 expires meanwhile
  assert.equal(await r.addKey(mlsKid(SENDER, 512, S), keyOf(512), 4_000), true);
  assert.equal(await opens(r, await neu.encryptFrame(CODECS.opus, undefined, frame(2)), 4_010), 'ok');
  assert.equal(await opens(r, await old.encryptFrame(CODECS.opus, undefined, frame(3)), 4_010 + REORDER_MILLIS - 1), 'ok');
  assert.notEqual(await opens(r, await old.encryptFrame(CODECS.opus, undefined, frame(4)), 4_010 + REORDER_MILLIS), 'ok');
  assert.equal(await opens(r, await neu.encryptFrame(CODECS.opus, undefined, frame(5)), 4_500), 'ok');
});
