// Reconnecting members (docs/PROTOCOL.md §1.9): when a connection drops without disconnect() — its node died or is
// draining, the network broke — a new connection joins again through any of the cluster's signaling URLs, with
// exponential backoff and jitter; the cluster redirects it to the channel's (possibly new) owner. The new connection
// is a new member (new connection id; with E2EE a new identity whose keys the others get as after any join).
//
//   const m = Veil.connection([url1, url2, url3]).reconnecting('sendrecv', 'room', meta, {e2ee: true});
//   m.on('reconnecting', ev => ...);   // {attempt, delayMs, url, reason}
//   m.on('reconnected', ev => ...);    // {attempts, downtimeMs, url, connection}
//   m.on('track', ...) ...             // every event of every connection made; 'disconnect' only at the very end
//   await m.connect(stream);  m.current (the VeilConnection in use);  await m.disconnect();

/** Server refusals after which another attempt can succeed (the node is going away, the cluster is busy). */
const TRANSIENT_REFUSALS = ['cluster_unavailable', 'draining', 'the server is shutting down', 'the server is full',
  'closed to make room', 'no connect within'];

/** Whether a failure with this server refusal (null: none, a network failure) is worth another attempt. */
export function retryable(refusal) {
  return refusal === null || refusal === undefined || TRANSIENT_REFUSALS.some(t => String(refusal).startsWith(t));
}

/**
 * The reconnect decisions, sans-IO: the URL of each attempt (the candidates in turn from the last one that
 * worked), its delay (equal jitter: between half and all of min(max, base·2^n)), and when to stop (a refusal that
 * would repeat, or maxAttempts attempts in a row). `random` is a () => [0, 1) function (seeded in tests).
 */
export class ReconnectPlan {
  constructor(urls, { baseMs = 250, maxMs = 2000, maxAttempts = 30, random = Math.random } = {}) {
    if (!Array.isArray(urls) || urls.length === 0) throw new Error('no signaling URL');
    if (!(baseMs > 0 && maxMs >= baseMs && maxAttempts >= 1)) throw new Error('backoff: 0 < base <= max, attempts >= 1');
    this.urls = urls.slice();
    this.baseMs = baseMs;
    this.maxMs = maxMs;
    this.maxAttempts = maxAttempts;
    this.random = random;
    this.home = 0;
    this.attempts = 0;
  }

  first() { return this.urls[this.home]; }

  /** The next attempt {number, delayMs, url} after a drop or failure (with the server's refusal, or null); null: give up. */
  next(refusal = null) {
    if (!retryable(refusal) || this.attempts >= this.maxAttempts) return null;
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.attempts, 20));
    const half = Math.floor(ceiling / 2);
    const delayMs = half + Math.floor(this.random() * (ceiling - half));
    const url = this.urls[(this.home + this.attempts) % this.urls.length];
    this.attempts++;
    return { number: this.attempts, delayMs, url };
  }

  /** The attempt through `entry` (a candidate URL) succeeded: the count starts over, from it. */
  connected(entry) {
    const i = this.urls.indexOf(entry);
    if (i >= 0) this.home = i;
    this.attempts = 0;
  }
}

/**
 * The E2EE worker of a reconnecting member, started once and lent to each of its connections in turn (each drops
 * every key in it when it ends). A reconnect then needs nothing from the page's origin, which may be the very node
 * that died (the demo page is served by the nodes): a worker started then cannot fetch its module script, and a
 * worker without its script lets no frame through. A worker that reported an error before it ever answered a
 * message (its script did not load) is replaced at the next take(). `start` makes a Worker (an EventTarget).
 */
export class KeptWorker {
  constructor(start) {
    this._start = start;
    this._worker = null;
    this._state = null;
    /** Workers started so far. */
    this.started = 0;
  }

  /** The worker for the next connection: the kept one, or a new one if there is none or it never started. */
  take() {
    if (this._worker && this._state.failed) this.close();
    if (!this._worker) {
      const worker = this._start();
      const state = { answered: false, failed: false };
      worker.addEventListener('message', ev => { if (ev && ev.data && ev.data.type === 'ack') state.answered = true; });
      worker.addEventListener('error', () => { if (!state.answered) state.failed = true; });
      this._worker = worker;
      this._state = state;
      this.started++;
    }
    return this._worker;
  }

  /** Stops the kept worker (the member left for good). */
  close() {
    if (this._worker) this._worker.terminate();
    this._worker = null;
    this._state = null;
  }
}

const FORWARDED = ['track', 'removetrack', 'notify', 'e2ee', 'signaling', 'timeout', 'data'];

/** A member that stays in its channel across node failures; made by Veil.connection(urls).reconnecting(...). */
export class VeilReconnectingConnection {
  /**
   * `make(url)` makes a new VeilConnection to `url`; `plan` is a ReconnectPlan; `onEnd()` runs once when the member
   * ends for good (disconnect() or the attempts ran out), e.g. to stop a KeptWorker.
   */
  constructor(make, plan, { onEnd = null } = {}) {
    this._make = make;
    this._plan = plan;
    this._onEnd = onEnd;
    this._listeners = new Map([...FORWARDED, 'disconnect', 'reconnecting', 'reconnected'].map(e => [e, []]));
    /** The VeilConnection in use (a new one after each reconnect). */
    this.current = null;
    this._ended = false;
    this._stream = null;
    this._timer = null;
    this._droppedAt = null;
  }

  on(event, fn) {
    const list = this._listeners.get(event);
    if (!list) throw new Error(`unknown event ${event}`);
    list.push(fn);
    return this;
  }

  off(event, fn) {
    const list = this._listeners.get(event);
    if (list) { const i = list.indexOf(fn); if (i >= 0) list.splice(i, 1); }
    return this;
  }

  _emit(event, arg) {
    for (const fn of [...(this._listeners.get(event) || [])]) {
      try { fn(arg); } catch (e) { console.error(`veil: ${event} listener failed`, e); }
    }
  }

  /** The current connection's id (a new one after each reconnect), or null. */
  get connectionId() { return this.current ? this.current.connectionId : null; }

  /**
   * Joins through the first URL (the others in turn, with backoff, if it cannot). Resolves once media flows;
   * rejects when the attempts run out or the server refuses for good.
   */
  connect(stream) {
    if (this._connecting) return this._connecting;
    this._stream = stream || null;
    this._connecting = new Promise((resolve, reject) => { this._resolve = resolve; this._reject = reject; });
    this._attempt(this._plan.first());
    return this._connecting;
  }

  _attempt(url) {
    this._timer = null;
    if (this._ended) return;
    const conn = this._make(url);
    this.current = conn;
    for (const ev of FORWARDED) conn.on(ev, arg => this._emit(ev, arg));
    let up = false;
    conn.on('disconnect', ev => {
      if (conn !== this.current || this._ended || !up || ev.type === 'normal') return;
      this._retry(null, ev.message || ev.reason);
    });
    conn.connect(this._stream).then(() => {
      if (conn !== this.current || this._ended) { conn.disconnect(); return; }
      up = true;
      const attempts = this._plan.attempts;
      this._plan.connected(url);
      if (this._resolve) {
        const resolve = this._resolve;
        this._resolve = this._reject = null;
        resolve(this._stream);
      } else {
        const downtimeMs = this._droppedAt === null ? 0 : Date.now() - this._droppedAt;
        this._emit('reconnected', { attempts, downtimeMs, url: conn.url, connection: conn });
      }
      this._droppedAt = null;
    }, err => {
      if (conn !== this.current || this._ended) return;
      const refusal = conn._lastError && conn.connectionId === null ? conn._lastError : null;
      this._retry(refusal, err && err.message ? err.message : String(err));
    });
  }

  _retry(refusal, reason) {
    if (this._ended) return;
    if (this._droppedAt === null) this._droppedAt = Date.now();
    const a = this._plan.next(refusal);
    if (!a) {
      this._ended = true;
      const message = retryable(refusal) ? `gave up after ${this._plan.attempts} attempts: ${reason}` : reason;
      if (this._reject) {
        const reject = this._reject;
        this._resolve = this._reject = null;
        const err = new Error(message);
        err.reason = 'reconnect';
        reject(err);
      }
      this._end();
      this._emit('disconnect', { type: 'abend', reason: 'reconnect', message });
      return;
    }
    this._emit('reconnecting', { attempt: a.number, delayMs: a.delayMs, url: a.url, reason });
    this._timer = setTimeout(() => this._attempt(a.url), a.delayMs);
  }

  /** Leaves for good: no more reconnects. */
  async disconnect() {
    if (this._ended) return;
    this._ended = true;
    clearTimeout(this._timer);
    if (this._reject) {
      const reject = this._reject;
      this._resolve = this._reject = null;
      const err = new Error('disconnect() was called before the connection was up');
      err.reason = 'disconnected';
      reject(err);
    }
    if (this.current) await this.current.disconnect();
    this._end();
    this._emit('disconnect', { type: 'normal', reason: 'disconnect() called' });
  }

  _end() {
    const f = this._onEnd;
    this._onEnd = null;
    if (f) {
      try { f(); } catch (e) { console.error('veil: reconnecting member end hook failed', e); }
    }
  }
}
