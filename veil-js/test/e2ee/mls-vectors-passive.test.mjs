// The official MLS welcome and passive-client vectors (test-vectors/mls/, cipher suite 1) through ts-mls, the library
// the browser MLS key mode runs on. Passive client, through the public API: join with the Welcome (joinGroup), then
// follow every epoch (processMessage for each proposal, then the commit) and compare the epoch authenticator after
// the join and after each commit, as upstream test-vectors.md says. The Java suite runs the same files (veil-e2ee
// MlsVectorsTest).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  acceptAll, bytesToBase64, decodeMlsMessage, encodeMlsMessage, joinGroup, makePskIndex, processMessage,
} from 'ts-mls';
// Internal module (the package's "./*.js" export): ts-mls exposes no public decoder for a bare RatchetTree, which is
// how the vectors carry the out-of-band tree of a Welcome without the ratchet_tree extension.
import { decodeRatchetTree } from 'ts-mls/ratchetTree.js';
// Internal modules: the welcome vector gives only the joiner's init key (no tree, no leaf key), which joinGroup cannot
// take; these are the steps joinGroup runs on a Welcome before it needs the tree.
import { decryptGroupInfo, decryptGroupSecrets } from 'ts-mls/welcome.js';
import { verifyGroupInfoConfirmationTag, verifyGroupInfoSignature } from 'ts-mls/groupInfo.js';
import { makeKeyPackageRef } from 'ts-mls/keyPackage.js';
import { assertBytes, decodeAll, hex, suite1, suite1Cases } from '../../test-support/e2ee/mls-vectors.mjs';

function message(h, wireformat, what) {
  const m = decodeAll(decodeMlsMessage, hex(h), what);
  assert.equal(m.wireformat, wireformat, what);
  return m;
}

/** Joins and follows every epoch of one case; returns the numbers of epochs and proposals followed. */
async function runPassiveCase(c, name) {
  const cs = await suite1();
  const kp = message(c.key_package, 'mls_key_package', name + ' key_package').keyPackage;
  const welcome = message(c.welcome, 'mls_welcome', name + ' welcome').welcome;
  const tree = c.ratchet_tree === null ? undefined : decodeAll(decodeRatchetTree, hex(c.ratchet_tree), name + ' tree');
  const psks = {};
  for (const p of c.external_psks) psks[bytesToBase64(hex(p.psk_id))] = hex(p.psk);
  const priv = {
    initPrivateKey: hex(c.init_priv),
    hpkePrivateKey: hex(c.encryption_priv),
    signaturePrivateKey: hex(c.signature_priv),
  };
  let state = await joinGroup(welcome, kp, priv, makePskIndex(undefined, psks), cs, tree);
  assertBytes(state.keySchedule.epochAuthenticator, c.initial_epoch_authenticator, name + ' join');
  let e = 0;
  let proposals = 0;
  for (const epoch of c.epochs) {
    const before = state.groupContext.epoch;
    for (const p of epoch.proposals) {
      const m = decodeAll(decodeMlsMessage, hex(p), name + ' epoch ' + e + ' proposal');
      const r = await processMessage(m, state, makePskIndex(state, psks), acceptAll, cs);
      assert.equal(r.kind, 'newState', name + ' epoch ' + e + ': proposal');
      assert.equal(r.newState.groupContext.epoch, before, name + ' epoch ' + e + ': a proposal changed the epoch');
      state = r.newState;
      proposals++;
    }
    const m = decodeAll(decodeMlsMessage, hex(epoch.commit), name + ' epoch ' + e + ' commit');
    const r = await processMessage(m, state, makePskIndex(state, psks), acceptAll, cs);
    assert.equal(r.kind, 'newState', name + ' epoch ' + e + ': commit');
    assert.equal(r.actionTaken, 'accept', name + ' epoch ' + e);
    assert.equal(r.newState.groupContext.epoch, before + 1n, name + ' epoch ' + e + ': commit did not advance');
    assertBytes(r.newState.keySchedule.epochAuthenticator, epoch.epoch_authenticator, name + ' epoch ' + e);
    state = r.newState;
    e++;
  }
  return { epochs: e, proposals };
}

async function runFile(file) {
  const { cases } = suite1Cases(file);
  const ran = { cases: cases.length, epochs: 0, proposals: 0 };
  for (let i = 0; i < cases.length; i++) {
    const r = await runPassiveCase(cases[i], file + ' case ' + i);
    ran.epochs += r.epochs;
    ran.proposals += r.proposals;
  }
  return ran;
}

test('mlsVectors_passiveClientWelcome_suite1_joinsEveryWelcome', async () => {
  // 8 cases: with and without the ratchet_tree extension, with and without an external PSK.
  assert.deepEqual(await runFile('passive-client-welcome.suite1.json'), { cases: 8, epochs: 0, proposals: 0 });
});

test('mlsVectors_passiveClientHandlingCommit_suite1_followsEveryCommit', async () => {
  // 13 cases of 2 epochs each: commits with add/remove/update/PSK/GCE proposals, by value and by reference.
  assert.deepEqual(await runFile('passive-client-handling-commit.suite1.json'),
    { cases: 13, epochs: 26, proposals: 12 });
});

test('mlsVectors_passiveClientRandom_suite1_follows200Epochs', async () => {
  assert.deepEqual(await runFile('passive-client-random.json'), { cases: 1, epochs: 200, proposals: 1542 });
});

test('mlsVectors_welcome_suite1_decryptsSecretsAndGroupInfoAndVerifiesIt', async () => {
  const { cases, total } = suite1Cases('welcome.json');
  assert.equal(total, 7);
  assert.equal(cases.length, 1);
  const cs = await suite1();
  let ran = 0;
  for (const [n, c] of cases.entries()) {
    const what = 'case ' + n;
    const msg = message(c.welcome, 'mls_welcome', what + ' welcome');
    assertBytes(encodeMlsMessage(msg), c.welcome, what + ' welcome re-encoded');
    const kp = message(c.key_package, 'mls_key_package', what + ' key_package').keyPackage;
    const ref = await makeKeyPackageRef(kp, cs.hash);
    const secrets = await decryptGroupSecrets(await cs.hpke.importPrivateKey(hex(c.init_priv)), ref, msg.welcome,
      cs.hpke);
    assert.ok(secrets, what + ' group secrets');
    assert.deepEqual(secrets.psks, [], what + ': no PSK, so psk_secret is all zeros');
    const pskSecret = new Uint8Array(cs.kdf.size);
    const gi = await decryptGroupInfo(msg.welcome, secrets.joinerSecret, pskSecret, cs);
    assert.ok(gi, what + ' group info');
    assert.equal(await verifyGroupInfoSignature(gi, hex(c.signer_pub), cs.signature), true, what + ' signature');
    assert.equal(await verifyGroupInfoConfirmationTag(gi, secrets.joinerSecret, pskSecret, cs), true,
      what + ' confirmation tag');
    // the two checks are not vacuous: one flipped bit fails each
    const bad = { ...gi, confirmationTag: gi.confirmationTag.map((b, i) => (i === 0 ? b ^ 1 : b)) };
    assert.equal(await verifyGroupInfoConfirmationTag(bad, secrets.joinerSecret, pskSecret, cs), false, what);
    assert.equal(await verifyGroupInfoSignature(bad, hex(c.signer_pub), cs.signature), false, what);
    ran++;
  }
  assert.equal(ran, 1, 'ran 1 case for suite 1');
});
