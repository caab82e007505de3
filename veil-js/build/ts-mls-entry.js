// What the browser SDK's MLS key mode (src/e2ee/mls-session.js) takes from ts-mls. Bundled by build/bundle-mls.mjs
// into src/e2ee/vendor/ts-mls.js (committed; test/e2ee/mls-bundle.test.mjs checks it matches a fresh bundle).
export {
  createGroup, joinGroup, createCommit, processPublicMessage, generateKeyPackage, encodeMlsMessage, decodeMlsMessage,
  getCiphersuiteImpl, getCiphersuiteFromName, nobleCryptoProvider, defaultLifetime, emptyPskIndex, mlsExporter,
  zeroOutUint8Array,
} from 'ts-mls';
export { verifyKeyPackage } from 'ts-mls/keyPackage.js';
