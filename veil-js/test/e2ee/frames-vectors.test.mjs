// A's language-neutral frame vectors (top-level test-vectors/frames-*.json), run against the JS modules: every
// case byte for byte, both directions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadVectors, big, PROJECT_VECTORS } from '../../test-support/e2ee/vectors.mjs';
import { fromHex, toHex } from '../../src/e2ee/bytes.js';
import { CODECS } from '../../src/e2ee/codec.js';
import { REJECTION_REASONS } from '../../src/e2ee/errors.js';
import {
  SFrameSender, SFrameReceiver, SFrameKey, deriveKeyAndSalt, encodeHeader, makeNonce,
} from '../../src/e2ee/sframe.js';
import { JFrameSender, JFrameReceiver } from '../../src/e2ee/jframe.js';
import { veilRatchet, jframeRatchet } from '../../src/e2ee/ratchet.js';
import { passphraseKey, passphraseSalt } from '../../src/e2ee/passphrase.js';
import { kidOf } from '../../src/e2ee/keyring.js';
import { hkdf } from '../../src/e2ee/hkdf.js';
import { utf8 } from '../../src/e2ee/bytes.js';

function vectors(name) {
  const path = join(PROJECT_VECTORS, name);
  const v = loadVectors(path);
  return { v, skip: v ? false : name + ' not present yet at ' + path };
}

const codecOf = (name) => {
  const c = CODECS[name.toLowerCase()];
  assert.ok(c, 'codec ' + name);
  return c;
};
const typeOf = (t) => ({ KEY: 'key', DELTA: 'delta', UNSPECIFIED: undefined })[t];

const sframe = vectors('frames-sframe.json');

test('framesSframe_everyCase_keyScheduleHeaderAndFrame', { skip: sframe.skip }, async () => {
  assert.ok(sframe.v.cases.length > 0);
  for (const c of sframe.v.cases) {
    const kid = big(c.kid);
    const ctr = big(c.ctr);
    assert.equal(kid, kidOf(big(c.generation), c.step), c.name);
    const base = fromHex(c.base_key);
    const { key, salt } = await deriveKeyAndSalt(c.cipher_suite, base, kid);
    assert.equal(toHex(key), c.sframe_key, c.name);
    assert.equal(toHex(salt), c.sframe_salt, c.name);
    assert.equal(toHex(makeNonce(salt, ctr)), c.nonce, c.name);
    assert.equal(toHex(encodeHeader(kid, ctr)), c.header, c.name);
    // Encrypt through a sender whose counter starts at the case's CTR.
    const sender = new SFrameSender(c.cipher_suite, ctr);
    await sender.setKey(kid, base);
    const receiver = new SFrameReceiver(c.cipher_suite);
    await receiver.addKey(kid, base);
    if (c.framing === 'media') {
      const codec = codecOf(c.codec);
      const frame = fromHex(c.frame);
      assert.equal(codec.clearPrefixLength(frame, typeOf(c.frame_type)), c.clear_prefix_length, c.name);
      assert.equal(c.aad, c.header + c.frame.slice(0, 2 * c.clear_prefix_length), c.name);
      const out = await sender.encryptFrame(codec, typeOf(c.frame_type), frame);
      assert.equal(toHex(out), c.encrypted, c.name);
      assert.equal(toHex(await receiver.decryptFrame(codec, typeOf(c.frame_type), fromHex(c.encrypted))), c.frame, c.name);
    } else {
      assert.equal(c.framing, 'rfc');
      const out = await sender.encrypt(fromHex(c.metadata), fromHex(c.plaintext));
      assert.equal(toHex(out), c.encrypted, c.name);
      assert.equal(c.aad, c.header + c.metadata);
      assert.equal(toHex(await receiver.decrypt(fromHex(c.metadata), fromHex(c.encrypted))), c.plaintext, c.name);
      const k = await SFrameKey.fromBaseKey(c.cipher_suite, kid, base);
      assert.equal(toHex(await k.encrypt(ctr, fromHex(c.plaintext), fromHex(c.metadata))), c.encrypted, c.name);
    }
  }
});

const jframe = vectors('frames-jframe.json');

test('framesJframe_everyCase_aesKeyIvAndFrame', { skip: jframe.skip }, async () => {
  assert.ok(jframe.v.cases.length > 0);
  for (const c of jframe.v.cases) {
    const material = c.key_mode === 'material' ? fromHex(c.material) : null;
    if (material) {
      const aes = await hkdf('SHA-256', utf8('JFrameEncryptionKey'), material, new Uint8Array(0), 16);
      assert.equal(toHex(aes), c.aes_key, c.name);
    } else {
      assert.equal(c.raw_key, c.aes_key, c.name);
    }
    const sender = new JFrameSender({ counterStart: () => c.send_count });
    const receiver = new JFrameReceiver();
    if (material) {
      await sender.setKey(c.key_index, material);
      await receiver.setKey(c.key_index, material);
    } else {
      await sender.setRawKey(c.key_index, fromHex(c.raw_key));
      await receiver.setRawKey(c.key_index, fromHex(c.raw_key));
    }
    assert.equal(sender.currentKeyIndex, c.key_index_byte, c.name);
    const codec = codecOf(c.codec);
    const frame = fromHex(c.frame);
    assert.equal(codec.clearPrefixLength(frame, typeOf(c.frame_type)), c.clear_prefix_length, c.name);
    const out = await sender.encrypt(codec, typeOf(c.frame_type), c.ssrc, c.rtp_timestamp, frame);
    assert.equal(toHex(out), c.encrypted, c.name);
    assert.equal(toHex(out.subarray(out.length - 14, out.length - 2)), c.iv, c.name);
    assert.equal(toHex(await receiver.decrypt(codec, typeOf(c.frame_type), fromHex(c.encrypted))), c.frame, c.name);
  }
});

test('framesJframe_counterSequence_wrapsAtModulus', { skip: jframe.skip }, async () => {
  const seq = jframe.v.counter_sequence;
  const sender = new JFrameSender({ counterStart: () => seq.initial_count });
  await sender.setKey(0, new Uint8Array(32));
  const counts = [];
  for (let i = 0; i < seq.send_counts.length; i++) {
    const f = await sender.encrypt(CODECS.opus, undefined, 1, i, Uint8Array.of(0xfc));
    counts.push(new DataView(f.buffer).getUint32(f.length - 6));
  }
  assert.deepEqual(counts, seq.send_counts);
});

const ratchet = vectors('frames-ratchet.json');

test('framesRatchet_veilAndJframeChains', { skip: ratchet.skip }, async () => {
  const veil = ratchet.v.veil;
  assert.ok(veil.steps.length > 1);
  let base = fromHex(veil.steps[0].base_key);
  for (const s of veil.steps) {
    assert.equal(toHex(base), s.base_key, 'veil step ' + s.step);
    const kid = big(s.kid);
    assert.equal(kid, kidOf(veil.generation, s.step));
    const { key, salt } = await deriveKeyAndSalt(veil.cipher_suite, base, kid);
    assert.equal(toHex(key), s.sframe_key, 'veil step ' + s.step);
    assert.equal(toHex(salt), s.sframe_salt, 'veil step ' + s.step);
    base = await veilRatchet(base);
  }
  const jf = ratchet.v.jframe;
  assert.ok(jf.steps.length > 1);
  let m = fromHex(jf.steps[0].material);
  for (const s of jf.steps) {
    assert.equal(toHex(m), s.material, 'jframe step ' + s.step);
    assert.equal(toHex(await hkdf('SHA-256', utf8('JFrameEncryptionKey'), m, new Uint8Array(0), 16)), s.aes_key);
    m = await jframeRatchet(m);
  }
});

const pass = vectors('frames-passphrase.json');

test('framesPassphrase_everyCase_saltAndKey', { skip: pass.skip }, async () => {
  assert.ok(pass.v.cases.length > 0);
  for (const c of pass.v.cases) {
    assert.equal(toHex(passphraseSalt(c.room, c.participant_id)), c.salt);
    assert.equal(toHex(await passphraseKey(c.passphrase, c.room, c.participant_id, c.iterations)), c.key, c.passphrase);
  }
});

const receiver = vectors('frames-receiver.json');

test('framesReceiver_everyScenario_outputsAndRejections', { skip: receiver.skip }, async () => {
  assert.ok(receiver.v.scenarios.length > 0);
  for (const sc of receiver.v.scenarios) {
    let decrypt;
    let install = null;
    if (sc.format === 'sframe') {
      const r = new SFrameReceiver(sc.cipher_suite);
      for (const k of sc.keys) await r.addKey(big(k.kid), fromHex(k.base_key));
      decrypt = (codec, type, input, now) => r.decryptFrame(codec, type, input, null, now);
      install = (k, now) => r.addKey(big(k.kid), fromHex(k.base_key), now);
    } else {
      assert.equal(sc.format, 'jframe');
      const r = new JFrameReceiver();
      for (const k of sc.keys) {
        if (k.material) await r.setKey(k.key_index, fromHex(k.material));
        else await r.setRawKey(k.key_index, fromHex(k.raw_key));
      }
      decrypt = (codec, type, input, now) => r.decrypt(codec, type, input, now);
    }
    let now = 0;
    for (const st of sc.steps) {
      const what = sc.name + ': ' + st.note;
      if (st.at_ms !== undefined) now = st.at_ms;
      if (st.install) {
        await install(st.install, now);
        continue;
      }
      const p = decrypt(codecOf(st.codec), typeOf(st.frame_type), fromHex(st.input), now);
      if (st.expect === 'OK') {
        assert.equal(toHex(await p), st.output, what);
      } else {
        const reason = REJECTION_REASONS[st.expect];
        assert.ok(reason, 'known rejection ' + st.expect);
        await assert.rejects(p, (e) => {
          assert.equal(e.reason, reason, what);
          return true;
        });
      }
    }
  }
});
