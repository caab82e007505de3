/**
 * The ts-mls side of the browser MLS key mode (docs/PROTOCOL.md §4.3, §4.4): the cipher suite, key packages, what a
 * group state tells (roster, leaf count, external sender) and the keys one epoch exports for frames and data
 * messages. Stateless helpers of MlsSession (mls-session.js); the KID and code rules are in mls-kid.js.
 */

import {
  decodeMlsMessage, getCiphersuiteImpl, getCiphersuiteFromName, nobleCryptoProvider, defaultLifetime, mlsExporter,
  generateKeyPackageWithKey, createGroup, encodeMlsMessage, verifyKeyPackage,
} from './vendor/ts-mls.js';
import { toBase64, fromBase64, constantTimeEqual } from './bytes.js';
import {
  EXPORTER_LABEL, BASE_KEY_LENGTH, indexBits, mlsKid, verificationCodeOf,
} from './mls-kid.js';
import {
  credentialIdentity, connectionIdOf, deviceFingerprintOf, verifyCredential, externalSenderKey,
  externalSendersExtensionData,
} from './mls-credential.js';

export const SUITE_NAME = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519';
/** The exporter label of the data messages' base key (docs/PROTOCOL.md §4.10). */
export const DATA_EXPORTER_LABEL = 'Veil 1.0 data';

let suitePromise = null;

/** The ts-mls implementation of cipher suite 1 (pure JavaScript: @noble and @hpke/core), made once. */
export function mlsCipherSuite() {
  if (!suitePromise) suitePromise = getCiphersuiteImpl(getCiphersuiteFromName(SUITE_NAME), nobleCryptoProvider);
  return suitePromise;
}

/** Capabilities without GREASE values: what both ts-mls and bcmls members understand. */
function capabilities() {
  return { versions: ['mls10'], ciphersuites: [SUITE_NAME], extensions: [], proposals: [], credentials: ['basic'] };
}

/**
 * A fresh key package ({publicPackage, privatePackage}) of connection `self`, its credential vouched for by
 * `device` (a DeviceIdentity, §4.9) when there is one.
 */
export async function newKeyPackage(impl, self, device) {
  const keys = await impl.signature.keygen();
  const identity = await credentialIdentity(self, device, keys.publicKey);
  return generateKeyPackageWithKey({ credentialType: 'basic', identity }, capabilities(), defaultLifetime, [], keys,
    impl);
}

/** The `mls` signaling message that publishes key package `kp` (its public part). */
export function keyPackageMessage(kp) {
  const bytes = encodeMlsMessage({ version: 'mls10', wireformat: 'mls_key_package', keyPackage: kp.publicPackage });
  return { type: 'mls', payload: toBase64(bytes) };
}

/**
 * Null if key package `kp` that connection `from` published may wait to be added (this suite, a basic credential
 * naming `from`, vouched for by its device identity if any, signed), else {reason, detail}.
 */
export async function checkKeyPackage(from, kp, impl) {
  const cred = kp.leafNode.credential;
  if (kp.cipherSuite !== SUITE_NAME) return { reason: 'rejected', detail: 'key package for another cipher suite' };
  if (cred.credentialType !== 'basic' || connectionIdOf(cred.identity) !== from) {
    return { reason: 'key-package-identity',
      detail: "the key package's credential is not the connection that published it" };
  }
  if (!(await verifyCredential(cred.identity, kp.leafNode.signaturePublicKey, impl.signature))) {
    return { reason: 'key-package-identity', detail: "the key package's device identity does not vouch for its leaf" };
  }
  if (!(await verifyKeyPackage(kp, impl.signature))) {
    return { reason: 'rejected', detail: 'key package signature does not verify' };
  }
  return null;
}

/**
 * The group a `create` event founds: {gid, extensions} (the server named as external sender, §4.8, when
 * `offerExternalSender` and the event names it), or {error} (the detail of a 'create-failed').
 */
export function parseCreate(ev, offerExternalSender) {
  let gid;
  try {
    gid = fromBase64(String(ev.group_id));
    if (gid.length === 0 || gid.length > 255) throw new Error('group id must be 1..255 bytes');
  } catch (e) {
    return { error: e.message };
  }
  let extensions = [];
  if (offerExternalSender && typeof ev.external_sender === 'string') {
    try {
      extensions = [{ extensionType: 'external_senders',
        extensionData: externalSendersExtensionData(fromBase64(ev.external_sender)) }];
    } catch (e) {
      return { error: 'external_sender: ' + e.message };
    }
  }
  return { gid, extensions };
}

/** Epoch 0 of a group `gid` with context `extensions`, founded by key package `kp`. */
export async function foundGroup(gid, extensions, kp, impl) {
  const g = await createGroup(gid, kp.publicPackage, kp.privatePackage, [], impl);
  if (extensions.length === 0) return g;
  // ts-mls 1.6.4's createGroup reads external_senders as one ExternalSender, not the RFC 9420 §12.1.8.1
  // vector, and refuses the standard form (test/e2ee/mls-external-sender.test.mjs shows it): the extension
  // goes into the epoch-0 context afterwards. Nothing of epoch 0 depends on the context's extensions (its
  // epoch secret is random, its transcript empty); the next commit's context carries it, as bcmls expects.
  return { ...g, groupContext: { ...g.groupContext, extensions } };
}

/**
 * Null when handshake message `pm` is for group state `g`'s group and epoch; 'stale' for an earlier epoch (already
 * decided: ignore); else {reason, detail} to report.
 */
export function epochVerdict(g, pm) {
  const content = pm.content;
  if (!constantTimeEqual(content.groupId, g.groupContext.groupId)) {
    return { reason: 'rejected', detail: 'handshake message for another group' };
  }
  const epoch = g.groupContext.epoch;
  if (content.epoch < epoch) return 'stale';
  if (content.epoch > epoch) {
    return { reason: 'out-of-sync', detail: `message for epoch ${content.epoch} while at ${epoch}` };
  }
  return null;
}

/** Whether group state `g` is one a commit removed this member from. */
export function removedFrom(g) {
  return !!(g.groupActiveState && g.groupActiveState.kind === 'removedFromGroup');
}

/** Decodes one whole MLSMessage, or throws. */
export function decodeWhole(bytes) {
  const r = decodeMlsMessage(bytes, 0);
  if (!r || r[1] !== bytes.length) throw new Error('not one well-formed MLSMessage');
  return r[0];
}

/** [{leaf, identity (Uint8Array), signatureKey}] of the group's ratchet tree, by leaf index. */
export function rosterOf(state) {
  const out = [];
  const tree = state.ratchetTree;
  for (let n = 0; n < tree.length; n += 2) {
    const node = tree[n];
    if (node && node.nodeType === 'leaf') {
      out.push({ leaf: n / 2, identity: node.leaf.credential.identity, signatureKey: node.leaf.signaturePublicKey });
    }
  }
  return out;
}

/** Whether the group's context names an external sender (the server). */
export function hasExternalSender(state) {
  return externalSenderKey(state.groupContext.extensions, 0) !== null;
}

/** Leaf count of the ratchet tree (blank leaves included). */
export function leafCountOf(state) {
  return (state.ratchetTree.length + 1) / 2;
}

/**
 * The 'epoch' output of MlsSession for group state `g` (see mls-session.js): roster, own leaf and KID, each other
 * member's KID and device fingerprint (null unless its device identity vouches for its leaf), the epoch's code, and
 * unless `held` the frames' baseKey = MLS-Exporter("SFrame 1.0 Base Key", "", 16) and the data messages' dataKey =
 * MLS-Exporter("Veil 1.0 data", "", 16) (the consumer zeroes both; with `held` both are null).
 */
export async function epochOutput(g, impl, held) {
  const members = rosterOf(g);
  const ids = members.map((m) => connectionIdOf(m.identity));
  const ownLeaf = Number(g.privatePath.leafIndex);
  const s = indexBits(leafCountOf(g));
  const epoch = g.groupContext.epoch;
  const code = verificationCodeOf(g.keySchedule.epochAuthenticator);
  const senders = [];
  for (const m of members) {
    if (m.leaf === ownLeaf) continue;
    const ok = await verifyCredential(m.identity, m.signatureKey, impl.signature);
    senders.push({ connectionId: connectionIdOf(m.identity), leaf: m.leaf, kid: mlsKid(m.leaf, epoch, s),
      deviceFingerprint: ok ? await deviceFingerprintOf(m.identity) : null });
  }
  const baseKey = held ? null : await mlsExporter(g.keySchedule.exporterSecret, EXPORTER_LABEL, new Uint8Array(0),
    BASE_KEY_LENGTH, impl);
  const dataKey = held ? null : await mlsExporter(g.keySchedule.exporterSecret, DATA_EXPORTER_LABEL,
    new Uint8Array(0), BASE_KEY_LENGTH, impl);
  return {
    type: 'epoch', epoch, code, roster: ids, ownLeaf, indexBits: s, ownKid: mlsKid(ownLeaf, epoch, s), baseKey,
    dataKey, held, senders,
  };
}
