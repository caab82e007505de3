/**
 * Key ids, replay windows and the per-sender key ring, with the semantics of veil-e2ee's dev.veil.e2ee.key
 * (KeyId, ReplayWindow, WrappingReplayWindow, KeyRing).
 *
 *   KID (uint64) = generation << 8 | step      generation 0 .. 2^56-1 (a fresh random key, on a leave)
 *                                              step 0 .. 255 (ratchet steps inside a generation, one per join)
 *
 * A receiver holding (g, s) can compute (g, s') for s' > s by ratcheting s' - s times.
 */

import { E2EEError } from './errors.js';

export const MAX_STEP = 0xff;
export const MAX_GENERATION = (1n << 56n) - 1n;

/** The KID (BigInt) of (generation, step). */
export function kidOf(generation, step) {
  const g = BigInt(generation);
  if (g < 0n || g > MAX_GENERATION) throw new RangeError('generation out of range');
  if (!Number.isInteger(step) || step < 0 || step > MAX_STEP) throw new RangeError('step out of range');
  return (g << 8n) | BigInt(step);
}

/** {generation (BigInt), step (number)} of a KID. */
export function splitKid(kid) {
  const k = BigInt(kid);
  return { generation: k >> 8n, step: Number(k & 0xffn) };
}

const CHECKPOINTS = 10;

/**
 * A sliding window over unsigned 64-bit counters (BigInt), veil-e2ee's ReplayWindow: the highest accepted counter
 * and a ring bitmap of the `size` counters at and below it (RFC 6479 style). A counter above the highest is fresh;
 * one in the window is fresh unless accepted; one `size` or more below the highest is too old. Call isFresh before
 * decrypting, accept only after the frame authenticated, so forged frames never move the window.
 *
 * Age floor (with maxAgeMillis and the `now` arguments): one checkpoint per maxAgeMillis / 8 period, the last
 * (time, highest) of that period; a counter at or below a checkpoint's counter is refused once that checkpoint's time
 * is more than maxAgeMillis ago (it was sent before a frame that had arrived by then), as is every counter up to the
 * highest once nothing was accepted for maxAgeMillis.
 */
export class ReplayWindow {
  static SIZE = 128;
  #size;
  #bits;
  #maxAge;
  #empty = true;
  #highest = 0n;
  #cp = []; // [{start, time, counter}]
  #floor = null;
  #lastAcceptAt = 0;

  constructor(size = ReplayWindow.SIZE, maxAgeMillis = 0) {
    if (!Number.isInteger(size) || size < 64 || size % 64 !== 0 || !(maxAgeMillis >= 0)) {
      throw new RangeError('window size must be a positive multiple of 64');
    }
    this.#size = size;
    this.#bits = new Uint32Array(size / 32);
    this.#maxAge = maxAgeMillis;
  }

  get size() {
    return this.#size;
  }

  #slot(c) {
    return Number(c % BigInt(this.#size));
  }

  #set(c) {
    const s = this.#slot(c);
    this.#bits[s >>> 5] |= 1 << (s & 31);
  }

  #clear(c) {
    const s = this.#slot(c);
    this.#bits[s >>> 5] &= ~(1 << (s & 31));
  }

  isFresh(counter, now) {
    if (this.#empty || counter > this.#highest) return true;
    if (this.#highest - counter >= BigInt(this.#size)) return false;
    const s = this.#slot(counter);
    if ((this.#bits[s >>> 5] >>> (s & 31)) & 1) return false;
    if (now === undefined || this.#maxAge === 0) return true;
    this.#advanceFloor(now);
    return this.#floor === null || counter > this.#floor;
  }

  accept(counter, now) {
    if (this.#empty) {
      this.#empty = false;
      this.#highest = counter;
      this.#set(counter);
    } else if (counter > this.#highest) {
      if (counter - this.#highest >= BigInt(this.#size)) this.#bits.fill(0);
      else for (let c = this.#highest + 1n; c < counter; c++) this.#clear(c);
      this.#clear(counter);
      this.#highest = counter;
      this.#set(counter);
    } else if (this.#highest - counter < BigInt(this.#size)) {
      this.#set(counter);
    }
    if (now === undefined || this.#maxAge === 0) return;
    this.#lastAcceptAt = now;
    this.#advanceFloor(now);
    const last = this.#cp[this.#cp.length - 1];
    if (last && now - last.start < Math.max(1, this.#maxAge / 8)) {
      last.time = now;
      last.counter = this.#highest;
      return;
    }
    if (this.#cp.length === CHECKPOINTS) this.#promote();
    this.#cp.push({ start: now, time: now, counter: this.#highest });
  }

  #promote() {
    const c = this.#cp.shift();
    if (this.#floor === null || c.counter > this.#floor) this.#floor = c.counter;
  }

  #advanceFloor(now) {
    while (this.#cp.length > 0 && now - this.#cp[0].time > this.#maxAge) this.#promote();
    if (!this.#empty && now - this.#lastAcceptAt > this.#maxAge && (this.#floor === null || this.#highest > this.#floor)) {
      this.#floor = this.#highest;
    }
  }

  get highest() {
    return this.#highest;
  }

  get isEmpty() {
    return this.#empty;
  }
}

/**
 * A ReplayWindow over a counter that wraps modulo a small number (JFrame's IV counter, 0..0xFFFE): each value is
 * unwrapped relative to the highest accepted one (up to modulus/2 ahead is ahead, anything else behind).
 */
export class WrappingReplayWindow {
  #modulus;
  #window = new ReplayWindow();
  #highestIndex = 0;

  constructor(modulus) {
    if (modulus < 2 * ReplayWindow.SIZE) throw new RangeError('modulus too small');
    this.#modulus = modulus;
  }

  #index(value) {
    const m = this.#modulus;
    if (!Number.isInteger(value) || value < 0 || value >= m) return -1;
    if (this.#window.isEmpty) return m * 1024 + value;
    const cur = this.#highestIndex % m;
    const ahead = (((value - cur) % m) + m) % m;
    return ahead <= Math.floor(m / 2) ? this.#highestIndex + ahead : this.#highestIndex - (m - ahead);
  }

  isFresh(value) {
    const i = this.#index(value);
    return i >= 0 && this.#window.isFresh(BigInt(i));
  }

  /** Whether value would move the window forward (or the window is empty). */
  isAhead(value) {
    const i = this.#index(value);
    return i >= 0 && (this.#window.isEmpty || i > this.#highestIndex);
  }

  accept(value) {
    const i = this.#index(value);
    if (i < 0) return;
    this.#window.accept(BigInt(i));
    this.#highestIndex = Number(this.#window.highest);
  }
}

/**
 * One sender's keys by KID (BigInt), at most `capacity` of them; installing into a full ring retires the entry
 * installed longest ago. Every entry that leaves (retired, replaced or removed) goes to `onRetire`.
 */
export class KeyRing {
  #capacity;
  #onRetire;
  #entries = new Map(); // kid -> {entry, installedAt}
  #clock = 0;

  constructor(capacity, onRetire = () => {}) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be at least 1');
    this.#capacity = capacity;
    this.#onRetire = onRetire;
  }

  get capacity() {
    return this.#capacity;
  }

  get size() {
    return this.#entries.size;
  }

  get(kid) {
    const e = this.#entries.get(BigInt(kid));
    return e ? e.entry : null;
  }

  put(kid, entry) {
    if (entry == null) throw new TypeError('entry');
    const k = BigInt(kid);
    const old = this.#entries.get(k);
    if (old) {
      this.#entries.set(k, { entry, installedAt: ++this.#clock });
      if (old.entry !== entry) this.#onRetire(old.entry);
      return;
    }
    if (this.#entries.size >= this.#capacity) {
      let oldestKid = null;
      let oldest = null;
      for (const [id, e] of this.#entries) {
        if (!oldest || e.installedAt < oldest.installedAt) {
          oldest = e;
          oldestKid = id;
        }
      }
      this.#entries.delete(oldestKid);
      this.#onRetire(oldest.entry);
    }
    this.#entries.set(k, { entry, installedAt: ++this.#clock });
  }

  remove(kid) {
    const k = BigInt(kid);
    const e = this.#entries.get(k);
    if (!e) return false;
    this.#entries.delete(k);
    this.#onRetire(e.entry);
    return true;
  }

  clear() {
    const all = [...this.#entries.values()];
    this.#entries.clear();
    for (const e of all) this.#onRetire(e.entry);
  }

  /** Installed KIDs (BigInts). */
  kids() {
    return [...this.#entries.keys()];
  }

  /**
   * The KID of the key in the target's generation with the highest step below the target's, if it is at most
   * `maxSteps` behind; null otherwise. That key can be ratcheted forward to the target.
   */
  ratchetBase(targetKid, maxSteps) {
    const t = splitKid(targetKid);
    let best = -1;
    for (const kid of this.#entries.keys()) {
      const k = splitKid(kid);
      if (k.generation === t.generation && k.step < t.step && k.step > best && t.step - k.step <= maxSteps) {
        best = k.step;
      }
    }
    return best < 0 ? null : kidOf(t.generation, best);
  }
}

/** Throws E2EEError('exhausted') when a generation has no step left. */
export function nextStep(kid) {
  const { generation, step } = splitKid(kid);
  if (step === MAX_STEP) throw new E2EEError('exhausted', 'ratchet steps exhausted in generation ' + generation);
  return kidOf(generation, step + 1);
}
