// B's language-neutral key-management vectors (top-level test-vectors/keys-*.json), run against the JS modules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadVectors, PROJECT_VECTORS } from '../../test-support/e2ee/vectors.mjs';
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

import { big } from '../../test-support/e2ee/vectors.mjs';
import { encodeKey, encodeKeyAck, decodeKeyMessage } from '../../src/e2ee/keymessages.js';
import { PairwiseChannel, party, directionKey } from '../../src/e2ee/pairwise.js';
import { kidOf } from '../../src/e2ee/keyring.js';

const msgs = vectors('keys-messages.json');

test('keysMessages_everyValid_encodesAndDecodes', { skip: msgs.skip }, () => {
  assert.ok(msgs.v.valid.length > 0);
  for (const c of msgs.v.valid) {
    const kid = big(c.kid);
    assert.equal(kid, kidOf(big(c.generation), c.step));
    const bytes = c.type === 'KEY' ? encodeKey(kid, fromHex(c.base_key), c.active) : encodeKeyAck(kid);
    assert.equal(toHex(bytes), c.bytes, c.type + ' ' + c.kid);
    const m = decodeKeyMessage(fromHex(c.bytes));
    assert.equal(m.type, c.type === 'KEY' ? 'key' : 'key-ack');
    assert.equal(m.kid, kid);
    if (c.type === 'KEY') {
      assert.equal(toHex(m.baseKey), c.base_key);
      assert.equal(m.active, c.active);
    }
  }
});

test('keysMessages_everyMalformed_rejected', { skip: msgs.skip }, () => {
  assert.ok(msgs.v.malformed.length > 0);
  for (const c of msgs.v.malformed) {
    assert.throws(() => decodeKeyMessage(fromHex(c.bytes)), { reason: 'malformed-key-message' }, c.description);
  }
});

const pw = vectors('keys-pairwise.json');
const PAIRWISE_REASONS = {
  MALFORMED: 'malformed', UNSUPPORTED_VERSION: 'unsupported-version', WRONG_RECIPIENT: 'wrong-recipient',
  WRONG_SENDER: 'wrong-sender', REPLAY: 'replay', BAD_TAG: 'bad-tag',
};

async function identities() {
  const byName = new Map();
  for (const c of ids.v.identities) {
    byName.set(c.name, { c, id: await Identity.fromPrivateKeys(fromHex(c.ed25519_seed), fromHex(c.x25519_private)) });
  }
  return byName;
}

test('keysPairwise_everyPair_sharedSecretKeysAndSealedMessages', { skip: pw.skip || ids.skip }, async () => {
  const byName = await identities();
  assert.ok(pw.v.pairs.length > 0);
  for (const p of pw.v.pairs) {
    const a = byName.get(p.a);
    const b = byName.get(p.b);
    const shared = await a.id.agree(b.id.kxKey);
    assert.equal(toHex(shared), p.shared_secret, p.a + '/' + p.b);
    assert.equal(toHex(await b.id.agree(a.id.kxKey)), p.shared_secret);
    const pa = party(a.c.connection_id, a.id.identityKey, a.id.kxKey);
    const pb = party(b.c.connection_id, b.id.identityKey, b.id.kxKey);
    assert.equal(toHex(pa), p.party_a);
    assert.equal(toHex(pb), p.party_b);
    assert.equal(toHex(await directionKey(shared, pa, pb)), p.key_a_to_b);
    assert.equal(toHex(await directionKey(shared, pb, pa)), p.key_b_to_a);
    const ab = await PairwiseChannel.create(a.id, a.c.connection_id, b.id.bundle(b.c.connection_id));
    const ba = await PairwiseChannel.create(b.id, b.c.connection_id, a.id.bundle(a.c.connection_id));
    for (const m of p.messages) {
      const [from, to] = m.from === 'a' ? [ab, ba] : [ba, ab];
      assert.equal(toHex(await from.seal(fromHex(m.plaintext))), m.sealed, p.a + '/' + p.b + ' ' + m.plaintext);
      assert.equal(toHex(await to.open(fromHex(m.sealed))), m.plaintext);
    }
  }
});

test('keysPairwise_everyReceiveCase_resultsInOrder', { skip: pw.skip || ids.skip }, async () => {
  const byName = await identities();
  assert.ok(pw.v.receive_cases.length > 0);
  for (const rc of pw.v.receive_cases) {
    const r = byName.get(rc.receiver);
    const s = byName.get(rc.sender);
    const ch = await PairwiseChannel.create(r.id, r.c.connection_id, s.id.bundle(s.c.connection_id));
    for (const st of rc.steps) {
      const p = ch.open(fromHex(st.message));
      if (st.result === 'ok') {
        assert.equal(toHex(await p), st.plaintext, rc.description);
      } else {
        await assert.rejects(p, { reason: PAIRWISE_REASONS[st.result] }, rc.description + ' ' + st.result);
      }
    }
  }
});

import { GroupKeyManager } from '../../src/e2ee/group.js';
import { splitKid as split } from '../../src/e2ee/keyring.js';

const mgrVectors = vectors('keys-manager.json');

/** A manager output in the vector's shape. */
function asVector(o) {
  const kidFields = (kid) => {
    const { generation, step } = split(kid);
    return { generation: Number(generation), step };
  };
  switch (o.type) {
    case 'send': return { type: 'send_to', connection_id: o.to, message: toHex(o.message) };
    case 'install-key': return { type: 'install_key', sender: o.sender, ...kidFields(o.kid), base_key: toHex(o.baseKey) };
    case 'activate-send-key': return { type: 'activate_send_key', ...kidFields(o.kid), base_key: toHex(o.baseKey) };
    case 'forget-sender': return { type: 'forget_sender', connection_id: o.connectionId };
    case 'rejected': return { type: 'rejected', from: o.from, reason: o.reason.toUpperCase().replace(/-/g, '_') };
    default: throw new Error('unknown output ' + o.type);
  }
}

test('keysManager_scriptedRun_sameOutputsInOrder', { skip: mgrVectors.skip || ids.skip }, async () => {
  const byCid = new Map(ids.v.identities.map((c) => [c.connection_id, c]));
  const managers = new Map();
  assert.ok(mgrVectors.v.steps.length > 0);
  for (const [i, st] of mgrVectors.v.steps.entries()) {
    const what = `step ${i} (${st.member} ${st.input})`;
    let mgr = managers.get(st.member);
    const now = st.now;
    if (st.input === 'create') {
      const c = byCid.get(st.connection_id);
      const draws = mgrVectors.v.random_keys[st.member].map(fromHex);
      const identity = await Identity.fromPrivateKeys(fromHex(c.ed25519_seed), fromHex(c.x25519_private));
      mgr = new GroupKeyManager(identity, st.connection_id, {
        random: (n) => {
          assert.equal(n, 32);
          assert.ok(draws.length > 0, st.member + ' drew more keys than the vector has');
          return draws.shift();
        },
        // GroupKeyManager.Config.DEFAULT on both sides (the vector's description lists it)
      });
      managers.set(st.member, mgr);
    } else if (st.input === 'members_joined') {
      await mgr.membersJoined(now, st.connection_ids.map((cid) => Bundle.fromJson(cid, byCid.get(cid).bundle_json)));
    } else if (st.input === 'member_left') {
      await mgr.memberLeft(now, st.connection_id);
    } else if (st.input === 'message_received') {
      await mgr.messageReceived(now, st.from, fromHex(st.message));
    } else if (st.input === 'timeout') {
      await mgr.handleTimeout(now);
    } else {
      assert.fail('unknown input ' + st.input);
    }
    assert.deepEqual(mgr.drainOutputs().map(asVector), st.outputs, what);
  }
});
