// Persistent device identities, device certificates, the device pairwise channel and the room code with context
// (test-vectors/keys-device.json, keys-verification-code-context.json, written by veil-e2ee's DeviceVectorsTest),
// and passphrase mode's per-connection keys (frames-passphrase-sender.json, PassphraseSenderTest).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_VECTORS, parseJsonExact } from '../../test-support/e2ee/vectors.mjs';
import { fromHex, toHex } from '../../src/e2ee/bytes.js';
import {
  Identity, Bundle, DeviceIdentity, DeviceCertificate, deviceCertificateInput, deviceFingerprint, fingerprintDisplay,
  verificationCodeWithContext, verificationCodeInputWithContext,
} from '../../src/e2ee/identity.js';
import { PairwiseChannel, PURPOSE, kindOf } from '../../src/e2ee/pairwise.js';
import {
  sframePassphraseBaseKey, jframePassphraseKey, randomPassphraseKid, randomPassphraseSalt,
} from '../../src/e2ee/passphrase.js';
import { SFrameSender, SFrameReceiver, deriveKeyAndSalt, makeNonce } from '../../src/e2ee/sframe.js';
import { CODECS } from '../../src/e2ee/codec.js';

function load(name) {
  return parseJsonExact(readFileSync(join(PROJECT_VECTORS, name), 'utf8'));
}

const device = load('keys-device.json');
const codes = load('keys-verification-code-context.json');
const pass = load('frames-passphrase-sender.json');
const identities = load('keys-identity.json');

async function identity(name) {
  const c = identities.identities.find((x) => x.name === name);
  return { id: await Identity.fromPrivateKeys(fromHex(c.ed25519_seed), fromHex(c.x25519_private)), c };
}

test('keysDevice_devicesAndCertificates_matchJava', async () => {
  assert.equal(device.devices.length, 2);
  for (const d of device.devices) {
    const dev = await DeviceIdentity.fromSeed(fromHex(d.device_seed));
    assert.equal(toHex(dev.publicKey), d.device_key);
    const fp = await dev.fingerprint();
    assert.equal(toHex(fp), d.device_fingerprint);
    assert.equal(fingerprintDisplay(fp), d.device_fingerprint_display);
  }
  for (const c of device.certificates) {
    const d = device.devices.find((x) => x.name === c.device);
    const dev = await DeviceIdentity.fromSeed(fromHex(d.device_seed));
    assert.equal(toHex(deviceCertificateInput(dev.publicKey, fromHex(c.identity_key), c.connection_id,
      c.channel_id)), c.signature_input);
    const cert = await dev.certify(fromHex(c.identity_key), c.connection_id, c.channel_id);
    assert.equal(toHex(cert.signature), c.signature); // Ed25519 is deterministic
    assert.equal(toHex(cert.encode()), c.encoded);
  }
});

test('keysDevice_verifyCasesAndMalformed', async () => {
  assert.ok(device.verify_cases.length >= 5);
  for (const c of device.verify_cases) {
    const cert = DeviceCertificate.decode(fromHex(c.encoded));
    assert.equal(await cert.verify(fromHex(c.identity_key), c.connection_id, c.channel_id), c.valid, c.description);
  }
  for (const m of device.malformed) assert.equal(DeviceCertificate.decode(fromHex(m)), null, m);
});

test('keysDevice_deviceChannel_opensJavaSealedCertificate_andKeyChannelDoesNot', async () => {
  const ch = device.device_channel;
  const bob = await identity(ch.to);
  const alice = await identity(ch.from);
  const aliceBundle = Bundle.fromJson(alice.c.connection_id, alice.c.bundle_json);
  const sealed = fromHex(ch.sealed);
  assert.equal(kindOf(sealed), 2);
  const dev = await PairwiseChannel.create(bob.id, bob.c.connection_id, aliceBundle, PURPOSE.device);
  assert.equal(toHex(await dev.open(sealed)), ch.plaintext);
  const keys = await PairwiseChannel.create(bob.id, bob.c.connection_id, aliceBundle);
  await assert.rejects(keys.open(sealed), /kind/);
  // and JS seals the same bytes as Java from a fresh channel
  const bobBundle = Bundle.fromJson(bob.c.connection_id, bob.c.bundle_json);
  const ab = await PairwiseChannel.create(alice.id, alice.c.connection_id, bobBundle, PURPOSE.device);
  assert.equal(toHex(await ab.seal(fromHex(ch.plaintext))), ch.sealed);
});

test('keysVerificationCodeContext_everyCase_matchesJava_andEveryContextDiffers', async () => {
  const seen = new Set();
  for (const c of codes.cases) {
    const ctx = { channelId: c.context.channel_id, mode: c.context.mode, format: c.context.format,
      cipherSuite: c.context.cipher_suite };
    const members = c.members.map((m) => ({ connectionId: m.connection_id, identityKey: fromHex(m.identity_key) }));
    assert.equal(toHex(verificationCodeInputWithContext(ctx, members)), c.hash_input, c.description);
    const code = await verificationCodeWithContext(ctx, members);
    assert.equal(toHex(code.hash), c.hash, c.description);
    assert.equal(code.display, c.code, c.description);
    seen.add(code.display);
  }
  assert.equal(seen.size, codes.cases.length);
  // names work like the numbers
  const c = codes.cases[0];
  const members = c.members.map((m) => ({ connectionId: m.connection_id, identityKey: fromHex(m.identity_key) }));
  assert.equal((await verificationCodeWithContext({ channelId: c.context.channel_id, mode: 'keys', format: 'sframe' },
    members)).display, c.code);
  assert.throws(() => verificationCodeInputWithContext({ channelId: 'r', mode: 'keys', format: 'jframe',
    cipherSuite: 4 }, members), /cipher suite/);
});

test('framesPassphraseSender_sframeCases_derivedFromPAlone', async () => {
  assert.ok(pass.sframe_cases.length >= 2);
  for (const c of pass.sframe_cases) {
    const p = fromHex(c.passphrase_key);
    const kid = BigInt(c.kid);
    const base = await sframePassphraseBaseKey(p, kid);
    assert.equal(toHex(base), c.base_key, c.kid);
    const { key, salt } = await deriveKeyAndSalt(c.cipher_suite, base, kid);
    assert.equal(toHex(key), c.sframe_key);
    assert.equal(toHex(salt), c.sframe_salt);
    const tx = new SFrameSender(c.cipher_suite);
    await tx.setKey(kid, base);
    assert.equal(toHex(await tx.encryptFrame(CODECS.opus, undefined, fromHex(c.frame))), c.encrypted);
    const rx = new SFrameReceiver(c.cipher_suite);
    rx.setPassphraseKey(p);
    assert.equal(toHex(await rx.decryptFrame(CODECS.opus, undefined, fromHex(c.encrypted))), c.frame);
    assert.equal(rx.hasKey(kid), true);
  }
  for (const c of pass.jframe_cases) {
    assert.equal(toHex(await jframePassphraseKey(fromHex(c.passphrase_key), fromHex(c.salt))), c.aes_key);
  }
});

test('passphrase_twoMembersGivenTheSameConnectionId_neverShareKeyAndNonce', async () => {
  // the server gives both (and one of them again after a reconnect) the same id: the same PBKDF2 key P
  const p = fromHex(pass.sframe_cases[0].passphrase_key);
  const seen = new Set();
  let frames = 0;
  for (let conn = 0; conn < 4; conn++) {
    const kid = randomPassphraseKid();
    const base = await sframePassphraseBaseKey(p, kid);
    const { key, salt } = await deriveKeyAndSalt(4, base, kid);
    const tx = new SFrameSender(4);
    await tx.setKey(kid, base);
    for (let i = 0; i < 100; i++) {
      const nonce = makeNonce(salt, tx.nextCounter);
      const k = toHex(key) + '/' + toHex(nonce);
      assert.ok(!seen.has(k), '(key, nonce) reused');
      seen.add(k);
      await tx.encryptFrame(CODECS.opus, undefined, Uint8Array.of(0xfc, i));
      frames++;
    }
  }
  assert.equal(seen.size, frames);
  const a = await jframePassphraseKey(p, randomPassphraseSalt());
  const b = await jframePassphraseKey(p, randomPassphraseSalt());
  assert.notEqual(toHex(a), toHex(b));
});

test('passphrase_hostileFreshKids_neverGrowReceiverState', async () => {
  const p = fromHex(pass.sframe_cases[0].passphrase_key);
  const rx = new SFrameReceiver(4);
  rx.setPassphraseKey(p);
  for (let i = 0; i < 200; i++) {
    const forged = globalThis.crypto.getRandomValues(new Uint8Array(30));
    forged[0] = 0xfc;
    forged[1] = 0xf0; // 8-byte KID, CTR 0
    await assert.rejects(rx.decryptFrame(CODECS.opus, undefined, forged), (e) => e.reason === 'bad-tag');
  }
  assert.equal(rx.keyIds().length, 0);
});

test('deviceIdentity_generate_isNonExtractable_andCertifies', async () => {
  const d = await DeviceIdentity.generate();
  const { privateKey } = d.toStored();
  assert.equal(privateKey.extractable, false);
  const { id } = await identity('alice');
  const cert = await d.certify(id.identityKey, 'X', 'room');
  assert.equal(await DeviceCertificate.decode(cert.encode()).verify(id.identityKey, 'X', 'room'), true);
  assert.equal(await cert.verify(id.identityKey, 'X', 'room2'), false);
  assert.equal(toHex(await cert.fingerprint()), toHex(await deviceFingerprint(d.publicKey)));
});
