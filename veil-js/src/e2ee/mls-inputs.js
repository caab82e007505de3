/**
 * The plumbing of MlsSession (mls-session.js): its inputs run one at a time (ts-mls is asynchronous) in a bounded
 * queue, and its 'error' outputs are rate-limited per reason and sender. No MLS here.
 */

/** Errors of one reason and sender reported at most once per this many milliseconds. */
export const ERROR_INTERVAL_MS = 1000;
/** Longest error detail reported, in characters. */
const MAX_DETAIL = 300;

/** Asynchronous inputs processed one at a time, in order, at most `max` waiting. */
export class InputQueue {
  #queue = Promise.resolve();
  #queued = 0;
  #max;

  constructor(max) {
    this.#max = max;
  }

  /** Whether no input can be queued now. */
  get full() {
    return this.#queued >= this.#max;
  }

  /** Runs `op()` once every input queued before it ran; `onError(e)` if it throws. Resolves when it ran. */
  run(op, onError) {
    this.#queued++;
    const p = this.#queue.then(op).catch(onError).finally(() => { this.#queued--; });
    this.#queue = p;
    return p;
  }

  /** Resolves once every input so far was processed (also those queued while waiting). */
  async idle() {
    for (let p = null; p !== this.#queue;) {
      p = this.#queue;
      await p;
    }
  }
}

/** The 'error' outputs of an MLS session: at most one per ERROR_INTERVAL_MS for each reason and sender. */
export class ErrorReports {
  #last = new Map();

  /** The output {type: 'error', reason, from, detail}, or null when this one is rate-limited. */
  make(reason, from, detail, now) {
    const key = reason + '|' + from;
    const last = this.#last.get(key);
    if (last !== undefined && now - last < ERROR_INTERVAL_MS) return null;
    if (this.#last.size >= 1024) this.#last.clear();
    this.#last.set(key, now);
    return { type: 'error', reason, from: from || null, detail: detail ? String(detail).slice(0, MAX_DETAIL) : '' };
  }
}
