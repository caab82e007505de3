/**
 * The frame-transform core of the E2EE Worker (worker.js wires it to the worker's globals). It holds the frame
 * format, the own sender state and one receiver per remote sender, and turns encoded frames into encrypted ones
 * and back. Node can run it with fake frames (tests); in the browser the frames are RTCEncodedVideoFrame /
 * RTCEncodedAudioFrame.
 *
 * Fail closed: a frame that cannot be encrypted (no key yet, unsupported codec) or decrypted (no key, bad tag,
 * replay, expired key, …) is dropped, never enqueued, and an 'e2ee-error' message is posted (at most one per second
 * per sender, media kind, reason and operation, with the number suppressed meanwhile: audio failures, 50 a second,
 * never hide that video fails too). There is no pass-through: a frame is never forwarded unencrypted.
 *
 * Early frames (like libwebrtc's buffered frame decryptor): a received frame whose key has not arrived yet
 * ('no-key') is held, with the frames of its transform behind it (order kept), for at most HOLD_MILLIS; a key
 * install for its sender retries them in order; then each is decrypted or dropped. Held frames are bounded in count
 * (HOLD_MAX_FRAMES) and bytes (HOLD_MAX_BYTES) over the whole worker, checked on the frame's size before it is
 * queued; beyond that a frame is dropped at once.
 *
 * Replay windows belong to the receiver of a sender (worker-wide): every transform bound to that sender, whatever
 * track or re-offer it came from, shares them. A leave in group-key mode ('removeSender' with expireOthers) also
 * makes every key of every other sender held now expire LEAVE_EXPIRY_MILLIS later (docs/PROTOCOL.md §3.6).
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
import { SFrameSender, SFrameReceiver, DEFAULT_SUITE, DEFAULT_KEY_RING_CAPACITY } from './sframe.js';
import { JFrameSender, JFrameReceiver, KEYRING_SIZE } from './jframe.js';
import { splitKid } from './keyring.js';
import { asBytes } from './bytes.js';

export const FORMATS = Object.freeze(['sframe', 'jframe']);
const ERROR_INTERVAL_MS = 1000;
/** How long a frame that arrived before its key is held. */
export const HOLD_MILLIS = 1000;
/** Frames held at most, over the worker. */
export const HOLD_MAX_FRAMES = 128;
/** Bytes of frames held at most, over the worker. */
export const HOLD_MAX_BYTES = 2 * 1024 * 1024;
/** After a leave, every key held of every other sender expires this much later. */
export const LEAVE_EXPIRY_MILLIS = 2000;

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
  #keyMode = null; // 'mls': receivers without the sender-keys ratchet (docs/PROTOCOL.md §4.4)
  #sender;
  #receivers = new Map(); // senderId -> SFrameReceiver | JFrameReceiver
  #bindings = new Map(); // transformId -> senderId
  #codecs = new Map(); // transformId -> [{payloadType, mimeType}] negotiated (setCodecs)
  #errors = new Map(); // "op|sender|kind|reason" -> {last, suppressed}
  #used = new Map(); // "op|sender" -> the last 4 kids reported (bounded per sender, not one entry per key)
  #pending = new Map(); // senderId -> Promise of a key install (frames wait for it)
  #holds = new Set(); // the hold queues of every pipe: {items: [{frame, ctx, at, bytes, controller}], drain}
  #heldFrames = 0;
  #heldBytes = 0;
  #setTimer;

  /**
   * @param {(msg: object) => void} post  sends a message to the main thread
   * @param {() => number} [now]          milliseconds, for the error rate limit
   */
  constructor(post, now = () => globalThis.performance.now(), setTimer = (f, ms) => globalThis.setTimeout(f, ms)) {
    this.#post = post;
    this.#now = now;
    this.#setTimer = setTimer;
    this.#sender = this.#newSender();
  }

  get format() {
    return this.#format;
  }

  /** Frames held now (waiting for their key). */
  get heldFrames() {
    return this.#heldFrames;
  }

  #newSender() {
    return this.#format === 'sframe' ? new SFrameSender(this.#suite) : new JFrameSender();
  }

  #newReceiver() {
    if (this.#format !== 'sframe') return new JFrameReceiver();
    return new SFrameReceiver(this.#suite, DEFAULT_KEY_RING_CAPACITY, { ratchet: this.#keyMode !== 'mls' });
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
        if (msg.keyMode !== undefined && msg.keyMode !== null && msg.keyMode !== 'mls') {
          throw new E2EEError('unsupported', 'key mode ' + msg.keyMode);
        }
        if (msg.keyMode === 'mls' && msg.format !== 'sframe') throw new E2EEError('unsupported', 'MLS needs SFrame');
        this.#format = msg.format;
        this.#keyMode = msg.keyMode || null;
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
          if (this.#format === 'sframe') await r.addKey(kid, asBytes(msg.key), this.#now());
          else await r.setKey(jframeIndex(kid), asBytes(msg.key), this.#now());
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
          else await r.setRawKey(0, key, this.#now());
        });
      }
      case 'removeSender': {
        const r = this.#receivers.get(msg.senderId);
        if (r) r.clearKeys();
        this.#receivers.delete(msg.senderId);
        this.#used.delete('decrypt|' + msg.senderId);
        for (const k of [...this.#errors.keys()]) if (k.split('|')[1] === msg.senderId) this.#errors.delete(k);
        // group keys: a departed member may know every key held now, none outlives the leave by more than 2 s
        // (passphrase keys never change, so there the others' keys stay)
        if (msg.expireOthers) {
          const now = this.#now();
          for (const other of this.#receivers.values()) other.expireInstalledKeys(now, now + LEAVE_EXPIRY_MILLIS);
        }
        this.#kickAll();
        return;
      }
      case 'bindReceiver':
        this.#bindings.set(msg.transformId, msg.senderId);
        return;
      case 'setCodecs': {
        if (!Array.isArray(msg.codecs) || msg.codecs.length > 64) throw new TypeError('codecs: an array of at most 64');
        const list = msg.codecs.map((c) => ({ payloadType: Number(c.payloadType), mimeType: String(c.mimeType) }));
        if (this.#codecs.size >= 4096 && !this.#codecs.has(msg.transformId)) this.#codecs.delete(this.#codecs.keys().next().value);
        this.#codecs.set(msg.transformId, list);
        return;
      }
      case 'ping':
        return;
      case 'destroy':
        this.#sender = this.#newSender();
        this.#receivers.clear();
        this.#bindings.clear();
        this.#codecs.clear();
        this.#used.clear(); // a worker kept for the next connection reports its first frames under new keys again
        this.#errors.clear();
        this.#dropAllHeld();
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
    this.#kickAll();
  }

  #kickAll() {
    for (const h of this.#holds) if (h.items.length > 0) h.drain();
  }

  #dropAllHeld() {
    for (const h of this.#holds) {
      for (const it of h.items) this.#error('decrypt', this.#senderOf(it.ctx), it.ctx.kind, 'no-key', 'key never arrived');
      this.#heldFrames -= h.items.length;
      for (const it of h.items) this.#heldBytes -= it.bytes;
      h.items = [];
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
    const k = operation + '|' + senderId;
    const seen = this.#used.get(k) || [];
    if (seen.includes(String(kid))) return;
    seen.push(String(kid));
    if (seen.length > 4) seen.shift(); // bounded: the last few keys of this sender
    this.#used.set(k, seen);
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
    const r = await this.#process(frame, ctx);
    if (!r.ok) this.#error(ctx.operation, r.senderId, ctx.kind, r.reason, r.detail);
    return r.ok;
  }

  /**
   * The frame's mime type: from its metadata; else, when the SDK told this transform what was negotiated
   * ('setCodecs'), the codec of the frame's payloadType or, without one, the first negotiated codec (a sender sends
   * the first codec of its answer; a payload type not negotiated gives no codec: the frame is refused); else
   * undefined (codecFor then goes by the kind).
   */
  #mimeOf(meta, ctx) {
    if (meta.mimeType) return meta.mimeType;
    const list = ctx.transformId !== undefined ? this.#codecs.get(ctx.transformId) : undefined;
    if (!list || list.length === 0) return undefined;
    if (meta.payloadType !== undefined && meta.payloadType !== null) {
      const c = list.find((x) => x.payloadType === meta.payloadType);
      return c ? c.mimeType : 'unknown/pt' + meta.payloadType;
    }
    return list[0].mimeType;
  }

  /** processFrame without the error report: {ok: true} or {ok: false, reason, detail, senderId}. */
  async #process(frame, ctx) {
    const op = ctx.operation;
    const meta = typeof frame.getMetadata === 'function' ? frame.getMetadata() : {};
    const mime = this.#mimeOf(meta, ctx);
    const codec = codecFor(mime, ctx.kind);
    const senderId = op === 'encrypt' ? null : this.#senderOf(ctx);
    if (!codec) return { ok: false, reason: 'unsupported-codec', senderId, detail: 'no E2EE rule for ' + mime };
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
          out = await r.decryptFrame(codec, type, data, info, this.#now());
          this.#keyUsed(op, senderId, info.kid);
        } else {
          out = await r.decrypt(codec, type, data, this.#now());
          this.#keyUsed(op, senderId, 'index ' + data[data.length - 1]);
        }
      }
      frame.data = out.buffer;
      return { ok: true };
    } catch (e) {
      if (!(e instanceof E2EEError)) return { ok: false, reason: 'internal', senderId };
      return { ok: false, reason: e.reason, detail: e.message, senderId };
    }
  }

  /**
   * Pipes readable → writable through processFrame (one frame at a time, in order). Resolves when the stream
   * ends. ctx as for processFrame; `hooks.onRecovered()` is called on the first good frame after failures (for a
   * key-frame request). A decrypt frame whose key has not arrived is held (see the module comment).
   */
  pipe(readable, writable, ctx, hooks = {}) {
    let failing = false;
    let controller = null;
    const hold = { items: [], drain: null, running: null, timer: false };
    // a drain when the oldest held frame reaches HOLD_MILLIS, so none waits longer even if no frame follows
    const arm = () => {
      if (hold.timer || hold.items.length === 0) return;
      hold.timer = true;
      this.#setTimer(() => {
        hold.timer = false;
        return hold.drain().then(arm, () => {});
      }, Math.max(0, hold.items[0].at + HOLD_MILLIS - this.#now()));
    };
    const done = (ok) => {
      if (ok) {
        if (failing) {
          failing = false;
          if (hooks.onRecovered) hooks.onRecovered();
        }
      } else {
        failing = true;
      }
    };
    const release = (it) => {
      hold.items.shift();
      this.#heldFrames--;
      this.#heldBytes -= it.bytes;
    };
    // Processes the held frames in order: each is decrypted (enqueued), dropped, or - still no key and younger
    // than HOLD_MILLIS - left at the head (the drain stops there).
    const drainOnce = async (final) => {
      while (hold.items.length > 0) {
        const it = hold.items[0];
        const expired = final || this.#now() - it.at >= HOLD_MILLIS;
        const r = await this.#process(it.frame, ctx);
        if (!r.ok && r.reason === 'no-key' && !expired) break;
        release(it);
        if (r.ok) {
          try {
            controller.enqueue(it.frame);
          } catch {
            // the stream is gone
          }
        } else {
          this.#error(ctx.operation, r.senderId, ctx.kind, r.reason, r.detail);
        }
        done(r.ok);
      }
    };
    // one drain at a time; a caller arriving meanwhile waits for it and then drains again
    hold.drain = (final = false) => {
      const next = (hold.running || Promise.resolve()).then(() => drainOnce(final));
      hold.running = next.catch(() => {});
      return next;
    };
    const holdFrame = (frame) => {
      const bytes = frame.data ? frame.data.byteLength : 0;
      if (this.#heldFrames + 1 > HOLD_MAX_FRAMES || this.#heldBytes + bytes > HOLD_MAX_BYTES) return false;
      this.#heldFrames++;
      this.#heldBytes += bytes;
      hold.items.push({ frame, ctx, at: this.#now(), bytes });
      arm();
      return true;
    };
    this.#holds.add(hold);
    const transform = new TransformStream({
      start: (c) => {
        controller = c;
      },
      transform: async (frame) => {
        if (hold.items.length > 0) {
          // frames queue behind held ones (order kept); the drain decides
          if (!holdFrame(frame)) {
            this.#error(ctx.operation, this.#senderOf(ctx), ctx.kind, 'no-key', 'hold buffer full');
            done(false);
          }
          await hold.drain();
          return;
        }
        const r = await this.#process(frame, ctx);
        if (r.ok) {
          controller.enqueue(frame);
        } else if (r.reason === 'no-key' && ctx.operation === 'decrypt' && r.senderId && holdFrame(frame)) {
          return;
        } else {
          this.#error(ctx.operation, r.senderId, ctx.kind, r.reason, r.detail);
        }
        done(r.ok);
      },
      flush: async () => {
        await hold.drain(true); // the stream ended: what still has no key is dropped
        this.#holds.delete(hold);
        this.#heldFrames -= hold.items.length;
        for (const it of hold.items) this.#heldBytes -= it.bytes;
        hold.items = [];
      },
    });
    return readable.pipeThrough(transform).pipeTo(writable).catch(() => {}).finally(() => {
      if (this.#holds.delete(hold)) {
        this.#heldFrames -= hold.items.length;
        for (const it of hold.items) this.#heldBytes -= it.bytes;
        hold.items = [];
      }
    });
  }
}
