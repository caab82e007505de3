/**
 * Browser persistence of the E2EE device identity and of what the user verified, in IndexedDB (database
 * "veil-e2ee", per origin and browser profile):
 *   store "device"    key "device" → {privateKey: non-extractable Ed25519 CryptoKey, publicKey: Uint8Array(32)}
 *   store "verified"  key = device fingerprint display → {fingerprint, name, at}
 * Clearing the site's data (or another profile) means a new device key: members who verified the old one are
 * warned (verification-lost).
 */

import { DeviceIdentity } from './identity.js';
import { E2EEError } from './errors.js';

export const DB_NAME = 'veil-e2ee';
const DB_VERSION = 1;

function req(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

/** Opens the database (creating its stores). Rejects where there is no IndexedDB. */
export async function openDeviceStore(name = DB_NAME, idb = globalThis.indexedDB) {
  if (!idb) throw new E2EEError('unsupported', 'no IndexedDB: a persistent identity is impossible here');
  const open = idb.open(name, DB_VERSION);
  open.onupgradeneeded = () => {
    const db = open.result;
    if (!db.objectStoreNames.contains('device')) db.createObjectStore('device');
    if (!db.objectStoreNames.contains('verified')) db.createObjectStore('verified');
  };
  const db = await req(open);
  return new DeviceStore(db);
}

export class DeviceStore {
  #db;

  constructor(db) {
    this.#db = db;
  }

  async #get(store, key) {
    return req(this.#db.transaction(store, 'readonly').objectStore(store).get(key));
  }

  async #put(store, key, value) {
    const tx = this.#db.transaction(store, 'readwrite');
    tx.objectStore(store).put(value, key);
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  }

  /** The stored device identity, or a new one (non-extractable private key) stored first. */
  async loadOrCreateDevice() {
    const rec = await this.#get('device', 'device');
    if (rec) return DeviceIdentity.fromStored(rec);
    const d = await DeviceIdentity.generate();
    const tx = this.#db.transaction('device', 'readwrite');
    const store = tx.objectStore('device');
    // add(), not put(): if another tab stored one meanwhile, keep theirs
    store.add(d.toStored(), 'device');
    try {
      await new Promise((resolve, reject) => {
        tx.oncomplete = resolve;
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error);
      });
      return d;
    } catch {
      return DeviceIdentity.fromStored(await this.#get('device', 'device'));
    }
  }

  /** Every remembered peer verification: [{fingerprint, name}]. */
  async loadVerifiedPeers() {
    const values = await req(this.#db.transaction('verified', 'readonly').objectStore('verified').getAll());
    return values.filter((v) => v && typeof v.fingerprint === 'string')
      .map((v) => ({ fingerprint: v.fingerprint, name: typeof v.name === 'string' ? v.name : null }));
  }

  async putVerifiedPeer(fingerprint, name) {
    await this.#put('verified', fingerprint, { fingerprint, name: name ?? null, at: Date.now() });
  }

  close() {
    this.#db.close();
  }
}
