// B's language-neutral key-management vectors (top-level test-vectors/keys-*.json), run against the JS modules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadVectors, PROJECT_VECTORS } from './vectors.mjs';
import { fromHex, toHex, utf8 } from '../../src/e2ee/bytes.js';
import {
  Identity, Bundle, bundleSignatureInput, fingerprint, fingerprintDisplay, verificationCode, verificationCodeInput,
} from '../../src/e2ee/identity.js';

function vectors(name) {
  const path = join(PROJECT_VECTORS, name);
  const v = loadVectors(path);
  return { v, skip: v ? false : name + ' not present yet at ' + path };
}

const ids = vectors('keys-identity.json');

test('keysIdentity_everyIdentity_keysSignatureBundleFingerprint', { skip: ids.skip }, async () => {
  assert.ok(ids.v.identities.length > 0);
  for (const c of ids.v.identities) {
    assert.equal(toHex(utf8(c.connection_id)), c.connection_id_utf8, c.name);
    const id = await Identity.fromPrivateKeys(fromHex(c.ed25519_seed), fromHex(c.x25519_private));
    assert.equal(toHex(id.identityKey), c.identity_key, c.name);
    assert.equal(toHex(id.kxKey), c.kx_key, c.name);
    assert.equal(toHex(bundleSignatureInput(id.identityKey, id.kxKey)), c.signature_input, c.name);
    assert.equal(toHex(id.signature), c.signature, c.name);
    const b = id.bundle(c.connection_id);
    assert.equal(b.toJson(), c.bundle_json, c.name);
    assert.equal(await Bundle.fromJson(c.connection_id, c.bundle_json).verify(), true, c.name);
    const fp = await fingerprint(id.identityKey);
    assert.equal(toHex(fp), c.fingerprint, c.name);
    assert.equal(fingerprintDisplay(fp), c.fingerprint_display, c.name);
  }
});

test('keysIdentity_everyBundleCase_validBadSignatureOrMalformed', { skip: ids.skip }, async () => {
  assert.ok(ids.v.bundle_cases.length > 0);
  for (const c of ids.v.bundle_cases) {
    let result;
    try {
      const b = Bundle.fromJson(c.connection_id, c.json);
      result = (await b.verify()) ? 'valid' : 'bad_signature';
    } catch (e) {
      assert.equal(e.reason, 'bad-bundle', c.description);
      result = 'malformed';
    }
    assert.equal(result, c.result, c.description);
  }
});

const codes = vectors('keys-verification-code.json');

test('keysVerificationCode_everyCase_inputHashAndCode', { skip: codes.skip }, async () => {
  assert.ok(codes.v.cases.length > 0);
  for (const c of codes.v.cases) {
    const members = c.members.map((m) => ({ connectionId: m.connection_id, identityKey: fromHex(m.identity_key) }));
    assert.equal(toHex(verificationCodeInput(members)), c.hash_input, c.description);
    const code = await verificationCode(members);
    assert.equal(toHex(code.hash), c.hash, c.description);
    assert.equal(code.display, c.code, c.description);
  }
});

test('keysVerificationCode_everyRejection_refused', { skip: codes.skip }, () => {
  assert.ok(codes.v.rejections.length > 0);
  for (const c of codes.v.rejections) {
    const members = c.members.map((m) => ({ connectionId: m.connection_id, identityKey: fromHex(m.identity_key) }));
    assert.throws(() => verificationCodeInput(members), { reason: 'malformed' }, c.description);
  }
});
