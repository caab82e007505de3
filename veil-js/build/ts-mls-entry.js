// What the browser SDK's MLS key mode (src/e2ee/mls-session.js) takes from ts-mls. Bundled by build/bundle-mls.mjs
// into src/e2ee/vendor/ts-mls.js (committed; test/e2ee/mls-bundle.test.mjs checks it matches a fresh bundle).
export {
  createGroup, joinGroup, createCommit, processPublicMessage, generateKeyPackage, generateKeyPackageWithKey,
  encodeMlsMessage, decodeMlsMessage, getCiphersuiteImpl, getCiphersuiteFromName, nobleCryptoProvider, defaultLifetime,
  emptyPskIndex, mlsExporter, zeroOutUint8Array,
} from 'ts-mls';
export { verifyKeyPackage } from 'ts-mls/keyPackage.js';
// The server's external proposals (docs/PROTOCOL.md §4.8): ts-mls 1.6.4 reads an external_senders extension as one
// ExternalSender instead of the RFC 9420 §12.1.8.1 vector of them, so mls-session.js verifies the server's signature
// with the key it decodes itself (unprotectPublicMessage's override key) and caches the proposal (processProposal).
export { unprotectPublicMessage } from 'ts-mls/messageProtectionPublic.js';
export { processProposal } from 'ts-mls/clientState.js';
export { makeProposalRef } from 'ts-mls/authenticatedContent.js';
