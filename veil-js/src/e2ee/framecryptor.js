/**
 * The frame-transform core of the E2EE Worker (worker.js wires it to the worker's globals). It holds the frame
 * format, the own sender state and one receiver per remote sender, and turns encoded frames into encrypted ones
 * and back. Node can run it with fake frames (tests); in the browser the frames are RTCEncodedVideoFrame /
 * RTCEncodedAudioFrame.
 *
 * Fail closed: while enabled, a frame that cannot be encrypted (no key yet, unsupported codec) or decrypted (no key,
 * bad tag, replay, …) is dropped, never enqueued, and an 'e2ee-error' message is posted (at most one per second per
 * sender, media kind, reason and operation, with the number suppressed meanwhile: audio failures, 50 a second,
 * never hide that video fails too). Disabled, frames pass through untouched.
 *
 * Keys (messages from the main thread, see handleMessage):
 *   group mode       setSendKey {kid, key} / setReceiveKey {senderId, kid, key}: SFrame uses the KID and base key;
 *                    JFrame uses key index = generation mod 16 and the 32 bytes as material
 *   passphrase mode  setPassphraseKey {senderId, key}: SFrame: the sender's passphrase key P, from which its
 *                    receiver derives the key of every KID; JFrame (also senderId null = own): the raw AES key in key
 *                    index 0. The own SFrame key is a setSendKey under the own random KID.
 */

import { E2EEError } from './errors.js';
import { codecFor } from './codec.js';
import { SFrameSender, SFrameReceiver, DEFAULT_SUITE } from './sframe.js';
import { JFrameSender, JFrameReceiver, KEYRING_SIZE } from './jframe.js';
import { splitKid } from './keyring.js';
import { asBytes } from './bytes.js';

export const FORMATS = Object.freeze(['sframe', 'jframe']);
const ERROR_INTERVAL_MS = 1000;

function asKid(kid) {
  const k = typeof kid === 'bigint' ? kid : BigInt(kid);
  if (k < 0n || k >= 1n << 64n) throw new RangeError('KID out of range');
  return k;
}

function jframeIndex(kid) {
  return Number(splitKid(kid).generation % BigInt(KEYRING_SIZE));
}

export class FrameCryptor {
  #post;
  #now;
  #format = 'sframe';
  #suite = DEFAULT_SUITE;
  #enabled = true;
  #sender;
  #receivers = new Map(); // senderId -> SFrameReceiver | JFrameReceiver
  #bindings = new Map(); // transformId -> senderId
  #errors = new Map(); // "op|sender|kind|reason" -> {last, suppressed}
  #used = new Set(); // "op|sender|kid" already reported
  #pending = new Map(); // senderId -> Promise of a key install (frames wait for it)

  /**
   * @param {(msg: object) => void} post  sends a message to the main thread
   * @param {() => number} [now]          milliseconds, for the error rate limit
   */
  constructor(post, now = () => globalThis.performance.now()) {
    this.#post = post;
    this.#now = now;
    this.#sender = this.#newSender();
  }

  get format() {
    return this.#format;
  }

  get enabled() {
    return this.#enabled;
  }

  #newSender() {
    return this.#format === 'sframe' ? new SFrameSender(this.#suite) : new JFrameSender();
  }

  #newReceiver() {
    return this.#format === 'sframe' ? new SFrameReceiver(this.#suite) : new JFrameReceiver();
  }

  #receiver(senderId) {
    let r = this.#receivers.get(senderId);
    if (!r) {
      r = this.#newReceiver();
      this.#receivers.set(senderId, r);
    }
    return r;
  }

  /** Handles one message from the main thread; returns a promise that settles once it took effect. */
  async handleMessage(msg) {
    switch (msg && msg.type) {
      case 'setFormat': {
        if (!FORMATS.includes(msg.format)) throw new E2EEError('unsupported', 'format ' + msg.format);
        this.#format = msg.format;
        if (msg.suite !== undefined) this.#suite = msg.suite;
        this.#sender = this.#newSender();
        this.#receivers.clear();
        return;
      }
      case 'setSendKey': {
        const kid = asKid(msg.kid);
        const key = asBytes(msg.key);
        if (this.#format === 'sframe') await this.#sender.setKey(kid, key);
        else await this.#sender.setKey(jframeIndex(kid), key);
        return;
      }
      case 'setReceiveKey':
        return this.#install(msg.senderId, async (r) => {
          const kid = asKid(msg.kid);
          if (this.#format === 'sframe') await r.addKey(kid, asBytes(msg.key));
          else await r.setKey(jframeIndex(kid), asBytes(msg.key));
        });
      case 'setPassphraseKey': {
        // docs/PROTOCOL.md §2.5. SFrame: a remote sender's passphrase key P; its receiver derives the key of each
        // KID from P (the own SFrame key comes as setSendKey under the own random KID). JFrame: the AES key that the
        // main thread derived from P and the sender's salt, in key index 0.
        const key = asBytes(msg.key);
        if (msg.senderId == null) {
          if (this.#format === 'sframe') throw new E2EEError('unsupported', 'SFrame passphrase send key: use setSendKey');
          await this.#sender.setRawKey(0, key);
          return;
        }
        return this.#install(msg.senderId, async (r) => {
          if (this.#format === 'sframe') r.setPassphraseKey(key);
          else await r.setRawKey(0, key);
        });
      }
      case 'removeSender':
        this.#receivers.delete(msg.senderId);
        return;
      case 'bindReceiver':
        this.#bindings.set(msg.transformId, msg.senderId);
        return;
      case 'ping':
        return;
      case 'enable':
        this.#enabled = true;
        return;
      case 'disable':
        this.#enabled = false;
        return;
      case 'destroy':
        this.#sender = this.#newSender();
        this.#receivers.clear();
        this.#bindings.clear();
        return;
      default:
        throw new E2EEError('unsupported', 'unknown worker message ' + (msg && msg.type));
    }
  }

  async #install(senderId, op) {
    if (typeof senderId !== 'string' || senderId.length === 0) throw new TypeError('senderId required');
    const p = op(this.#receiver(senderId));
    const marker = p.catch(() => {});
    this.#pending.set(senderId, marker);
    try {
      await p;
    } finally {
      if (this.#pending.get(senderId) === marker) this.#pending.delete(senderId);
    }
  }

  #error(operation, senderId, kind, reason, detail) {
    const k = operation + '|' + senderId + '|' + kind + '|' + reason;
    const now = this.#now();
    const e = this.#errors.get(k);
    if (e && now - e.last < ERROR_INTERVAL_MS) {
      e.suppressed++;
      return;
    }
    this.#errors.set(k, { last: now, suppressed: 0 });
    this.#post({ type: 'e2ee-error', reason, operation, kind, senderId, suppressed: e ? e.suppressed : 0, detail });
  }

  #keyUsed(operation, senderId, kid) {
    const k = operation + '|' + senderId + '|' + kid;
    if (this.#used.has(k)) return;
    this.#used.add(k);
    this.#post({ type: 'e2ee-key-used', operation, senderId, kid: String(kid) });
  }

  #senderOf(ctx) {
    return (ctx.transformId !== undefined && this.#bindings.get(ctx.transformId)) || ctx.senderId || null;
  }

  /**
   * Encrypts or decrypts one encoded frame in place (frame.data replaced). Returns true when the frame must be
   * enqueued, false when it must be dropped (an error message has then been posted).
   * ctx: {operation: 'encrypt'|'decrypt', kind: 'audio'|'video', senderId?, transformId?}
   */
  async processFrame(frame, ctx) {
    if (!this.#enabled) return true;
    const op = ctx.operation;
    const meta = typeof frame.getMetadata === 'function' ? frame.getMetadata() : {};
    const codec = codecFor(meta.mimeType, ctx.kind);
    const senderId = op === 'encrypt' ? null : this.#senderOf(ctx);
    if (!codec) {
      this.#error(op, senderId, ctx.kind, 'unsupported-codec');
      return false;
    }
    const type = frame.type === 'key' || frame.type === 'delta' ? frame.type : undefined;
    const data = new Uint8Array(frame.data);
    try {
      let out;
      if (op === 'encrypt') {
        if (this.#format === 'sframe') {
          const info = {};
          out = await this.#sender.encryptFrame(codec, type, data, info);
          this.#keyUsed(op, null, info.kid);
        } else {
          const ts = meta.rtpTimestamp !== undefined ? meta.rtpTimestamp : frame.timestamp;
          out = await this.#sender.encrypt(codec, type, meta.synchronizationSource >>> 0, ts >>> 0, data);
          this.#keyUsed(op, null, 'index ' + this.#sender.currentKeyIndex);
        }
      } else {
        if (!senderId) throw new E2EEError('no-key', 'receiver not bound to a sender');
        const pending = this.#pending.get(senderId);
        if (pending) await pending;
        const r = this.#receivers.get(senderId);
        if (!r) throw new E2EEError('no-key', 'no keys for sender');
        if (this.#format === 'sframe') {
          const info = {};
          out = await r.decryptFrame(codec, type, data, info, ctx.transformId ?? ctx.kind);
          this.#keyUsed(op, senderId, info.kid);
        } else {
          out = await r.decrypt(codec, type, data);
          this.#keyUsed(op, senderId, 'index ' + data[data.length - 1]);
        }
      }
      frame.data = out.buffer;
      return true;
    } catch (e) {
      if (!(e instanceof E2EEError)) {
        this.#error(op, senderId, ctx.kind, 'internal');
        return false;
      }
      this.#error(op, senderId, ctx.kind, e.reason, e.message);
      return false;
    }
  }

  /**
   * Pipes readable → writable through processFrame (one frame at a time, in order). Resolves when the stream
   * ends. ctx as for processFrame; `hooks.onRecovered()` is called on the first good frame after failures (for a
   * key-frame request).
   */
  pipe(readable, writable, ctx, hooks = {}) {
    let failing = false;
    const transform = new TransformStream({
      transform: async (frame, controller) => {
        const ok = await this.processFrame(frame, ctx);
        if (ok) {
          controller.enqueue(frame);
          if (failing) {
            failing = false;
            if (hooks.onRecovered) hooks.onRecovered();
          }
        } else {
          failing = true;
        }
      },
    });
    return readable.pipeThrough(transform).pipeTo(writable).catch(() => {});
  }
}
