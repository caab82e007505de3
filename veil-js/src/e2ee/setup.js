/**
 * What createE2EE (index.js) makes a sender-keys connection's VeilE2EE from: the checked format and mode, the E2EE
 * Worker (once it answers), a fresh identity and its fingerprint display, and with options.persistentIdentity the
 * device identity and the verified peers kept in IndexedDB (or options.deviceIdentity). On failure a worker started
 * here is terminated (and the identity destroyed if the worker failed, the store closed if reading it failed).
 */

import { E2EEError } from './errors.js';
import { Identity, fingerprintDisplay } from './identity.js';
import { openDeviceStore } from './device-store.js';
import { workerFor, workerReady } from './worker-port.js';

/**
 * @param {object} options  createE2EE's options
 * @returns {Promise<{opts: object, worker: object, identity: Identity, fp: string, dev: {device: object|null,
 *   store: object|null, verifiedPeers: Array, deviceFp: string|null}}>}
 */
export async function prepareE2EE(options) {
  const format = options.format || 'sframe';
  if (format !== 'sframe' && format !== 'jframe') throw new E2EEError('unsupported', 'format must be sframe or jframe');
  const mode = options.mode || (options.passphrase !== undefined || options.passphraseFromHash ? 'passphrase' : 'keys');
  if (mode !== 'keys' && mode !== 'passphrase') throw new E2EEError('unsupported', 'mode must be keys or passphrase');
  const worker = workerFor(options);
  const ready = workerReady(worker);
  ready.catch(() => {}); // awaited below, after the identity
  let identity;
  try {
    identity = await Identity.generate();
    await ready;
  } catch (e) {
    if (identity) identity.destroy();
    if (!options.worker) worker.terminate();
    throw e;
  }
  const fp = fingerprintDisplay(await identity.fingerprint());
  let device = options.deviceIdentity || null;
  let store = null;
  let verifiedPeers = [];
  if (!device && options.persistentIdentity) {
    try {
      store = await openDeviceStore(typeof options.persistentIdentity === 'object'
        ? options.persistentIdentity.dbName : undefined);
      device = await store.loadOrCreateDevice();
      verifiedPeers = await store.loadVerifiedPeers();
    } catch (e) {
      if (store) store.close();
      if (!options.worker) worker.terminate();
      throw e;
    }
  }
  const deviceFp = device ? fingerprintDisplay(await device.fingerprint()) : null;
  return { opts: { ...options, format, mode }, worker, identity, fp, dev: { device, store, verifiedPeers, deviceFp } };
}
