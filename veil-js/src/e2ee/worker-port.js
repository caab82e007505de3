/**
 * The page side of the E2EE Worker, shared by both key modes' facades (VeilE2EE in index.js, MlsE2EE in
 * mls-e2ee.js): starting the worker and waiting for it, the 'e2ee' listeners, encoded transforms on senders and
 * receivers (with their codecs), the worker's acks and events, the key copies kept for tests, and letting the worker
 * go (terminated, or with keepWorker left running for a reconnecting member's next connection).
 */

import { E2EEError } from './errors.js';
import { sectionCodecs } from './codec.js';
import { toHex } from './bytes.js';

/** True where the browser has RTCRtpScriptTransform. */
export function supportsScriptTransform(g = globalThis) {
  return typeof g.RTCRtpScriptTransform === 'function';
}

/** True where the browser has encoded transforms of either kind (RTCRtpScriptTransform or createEncodedStreams). */
export function isE2EESupported(g = globalThis) {
  return supportsScriptTransform(g)
    || !!(g.RTCRtpSender && g.RTCRtpSender.prototype && 'createEncodedStreams' in g.RTCRtpSender.prototype);
}

/** The default worker script, next to this module. */
export const DEFAULT_WORKER_URL = new URL('./worker.js', import.meta.url);
export const WORKER_NAME = 'Veil E2EE Worker';

/** Starts an E2EE Worker from `url` (default: ./worker.js beside this module; the script loads asynchronously). */
export function startE2EEWorker(url) {
  return new Worker(url || DEFAULT_WORKER_URL, { type: 'module', name: WORKER_NAME });
}

/** options.worker, or a new worker from options.workerUrl; throws E2EEError('unsupported') without encoded transforms. */
export function workerFor(options) {
  if (options.worker) return options.worker;
  if (!isE2EESupported()) {
    throw new E2EEError('unsupported',
      'this browser has no encoded transforms (RTCRtpScriptTransform or createEncodedStreams): E2EE is impossible');
  }
  return startE2EEWorker(options.workerUrl);
}

/**
 * Resolves once `worker` answers a ping (its script loaded and runs); rejects with an E2EEError ('worker') if it
 * reports an error first: a worker whose script cannot be fetched (e.g. the page's origin went away) would
 * otherwise take every frame and let none through, silently. Leaves worker.onmessage/onerror as they were.
 */
export function workerReady(worker) {
  const before = { message: worker.onmessage, error: worker.onerror };
  return new Promise((resolve, reject) => {
    const done = () => { worker.onmessage = before.message; worker.onerror = before.error; };
    worker.onmessage = (ev) => {
      const m = ev && ev.data;
      if (m && (m.type === 'ack' || m.type === 'e2ee-error') && m.id === READY_PING_ID) { done(); resolve(); }
    };
    worker.onerror = (ev) => {
      done();
      if (ev && typeof ev.preventDefault === 'function') ev.preventDefault();
      reject(new E2EEError('worker', 'the E2EE worker did not start (its script could not be loaded or failed)'));
    };
    worker.postMessage({ type: 'ping', id: READY_PING_ID });
  });
}
const READY_PING_ID = 'veil-ready';

/** The 'e2ee' event listeners of a facade. */
export class E2EEListeners {
  #listeners = [];

  constructor(first) {
    if (first) this.#listeners.push(first);
  }

  on(event, fn) {
    if (event !== 'e2ee') throw new E2EEError('unsupported', 'unknown event ' + event);
    this.#listeners.push(fn);
  }

  off(fn) {
    const i = this.#listeners.indexOf(fn);
    if (i >= 0) this.#listeners.splice(i, 1);
  }

  emit(ev) {
    for (const fn of [...this.#listeners]) {
      try {
        fn(ev);
      } catch (e) {
        // a listener's failure is not the E2EE layer's
      }
    }
  }
}

const transformIds = new Map(); // transform id prefix -> last number used

/**
 * One facade's link to its worker: takes over worker.onmessage (acks, and 'error' / 'key-used' events to `emit`),
 * posts to it until destroyed, attaches transforms (ids `prefix` + n) and tells it their codecs.
 */
export class WorkerPort {
  #worker;
  #emit;
  #prefix;
  #onMessage;
  #transforms = new WeakMap(); // RTCRtpSender | RTCRtpReceiver -> transformId of its transform
  #acks = new Map();
  #ackId = 0;
  #destroyed = false;

  constructor(worker, prefix, emit) {
    this.#worker = worker;
    this.#prefix = prefix;
    this.#emit = emit;
    this.#onMessage = (ev) => this.#onWorkerMessage(ev.data);
    worker.onmessage = this.#onMessage;
  }

  get destroyed() {
    return this.#destroyed;
  }

  /** Posts `msg` to the worker; nothing once destroyed (but the 'destroy' itself). */
  post(msg) {
    if (this.#destroyed && msg.type !== 'destroy') return;
    this.#worker.postMessage(msg);
  }

  /** Encrypts what this RTCRtpSender sends; returns the transform id. */
  attachSender(sender, kind) {
    return this.#attach(sender, { operation: 'encrypt', kind: kind || (sender.track && sender.track.kind) });
  }

  /** Decrypts what this RTCRtpReceiver receives from `senderId`; returns the transform id. */
  attachReceiver(receiver, kind, senderId) {
    return this.#attach(receiver, { operation: 'decrypt', kind: kind || (receiver.track && receiver.track.kind),
      senderId: senderId || undefined });
  }

  #attach(target, options) {
    const n = (transformIds.get(this.#prefix) || 0) + 1;
    transformIds.set(this.#prefix, n);
    const transformId = this.#prefix + n;
    options.transformId = transformId;
    if (this.#destroyed) throw new E2EEError('destroyed', 'E2EE has been destroyed');
    if (supportsScriptTransform()) {
      target.transform = new globalThis.RTCRtpScriptTransform(this.#worker, options);
    } else {
      if (typeof target.createEncodedStreams !== 'function') {
        throw new E2EEError('unsupported', 'no encoded transform on this sender/receiver');
      }
      const { readable, writable } = target.createEncodedStreams();
      this.#worker.postMessage({ type: 'stream', ...options, readable, writable }, [readable, writable]);
    }
    this.#transforms.set(target, transformId);
    return transformId;
  }

  /** Names the sender of a receiver attached without one. */
  bindReceiver(transformId, senderId) {
    this.post({ type: 'bindReceiver', transformId, senderId });
  }

  /**
   * Tells the worker, per attached sender and receiver of `pc`, the codecs negotiated on its m-section (from the
   * local description), so a frame whose metadata has no mimeType gets its codec's rule by payload type, never a
   * guess (call after every setLocalDescription).
   */
  updateCodecs(pc) {
    const sdp = pc && pc.localDescription ? pc.localDescription.sdp : '';
    if (!sdp) return;
    for (const t of pc.getTransceivers()) {
      if (!t.mid) continue;
      const codecs = sectionCodecs(sdp, t.mid);
      if (!codecs) continue;
      for (const target of [t.sender, t.receiver]) {
        const transformId = this.#transforms.get(target);
        if (transformId !== undefined) this.post({ type: 'setCodecs', transformId, codecs });
      }
    }
  }

  /** Resolves once the worker has handled everything posted before (at once when destroyed). */
  async ping() {
    if (this.#destroyed) return;
    const id = ++this.#ackId;
    await new Promise((resolve) => {
      this.#acks.set(id, resolve);
      this.#worker.postMessage({ type: 'ping', id });
    });
  }

  #onWorkerMessage(m) {
    if (!m || typeof m !== 'object') return;
    if (m.type === 'ack' || (m.type === 'e2ee-error' && m.id !== undefined && this.#acks.has(m.id))) {
      const resolve = this.#acks.get(m.id);
      this.#acks.delete(m.id);
      if (resolve) resolve();
      if (m.type === 'ack') return;
    }
    if (m.type === 'e2ee-error') {
      this.#emit({ type: 'error', source: m.operation === 'message' ? 'worker' : 'frames', reason: m.reason,
        operation: m.operation, kind: m.kind, senderId: m.senderId, suppressed: m.suppressed, detail: m.detail });
    } else if (m.type === 'e2ee-key-used') {
      this.#emit({ type: 'key-used', operation: m.operation, senderId: m.senderId, kid: m.kid });
    }
  }

  /** Tells the worker to drop every key and marks the port destroyed (pending pings resolve). */
  destroy() {
    if (this.#destroyed) return;
    this.post({ type: 'destroy' });
    this.#destroyed = true;
    for (const resolve of this.#acks.values()) resolve();
    this.#acks.clear();
  }

  /** Stops the worker, or with `keep` (a reconnecting member's worker) leaves it running for the next connection. */
  release(keep) {
    if (keep) {
      if (this.#worker.onmessage === this.#onMessage) this.#worker.onmessage = null; // the next connection's now
    } else if (typeof this.#worker.terminate === 'function') {
      this.#worker.terminate();
    }
  }
}

/** Hex copies of the base keys a connection was given, kept only with keepKeysForTesting (exportKeysForTesting). */
export class KeptKeysForTesting {
  #on;
  #send = null;
  #receive = new Map();

  constructor(on) {
    this.#on = !!on;
  }

  receiveKey(senderId, kid, key) {
    if (!this.#on) return;
    if (!this.#receive.has(senderId)) this.#receive.set(senderId, []);
    this.#receive.get(senderId).push({ kid: kid.toString(), key: toHex(key) });
  }

  sendKey(kid, key) {
    if (this.#on) this.#send = { kid: kid.toString(), key: toHex(key) };
  }

  dropSendKey() {
    this.#send = null;
  }

  forget(senderId) {
    this.#receive.delete(senderId);
  }

  clear() {
    this.#receive.clear();
  }

  /** {send: {kid, key}, receive: {connectionId: [{kid, key}]}} with hex keys. */
  export() {
    if (!this.#on) throw new E2EEError('unsupported', 'create with keepKeysForTesting: true');
    const receive = {};
    for (const [id, list] of this.#receive) receive[id] = list.map((k) => ({ ...k }));
    return { send: this.#send ? { ...this.#send } : null, receive };
  }
}
