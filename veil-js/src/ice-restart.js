// ICE restart of a VeilConnection (installed on its prototype by veil.js): restartIce() and the automatic
// restart when ICE stays disconnected or fails.

import { VeilError } from './errors.js';

// ICE restart (docs/PROTOCOL.md §1): the server is ICE lite and never restarts on its own, so the SDK asks for one
// when ICE stays 'disconnected' this long, or at once when it is 'failed'.
export const ICE_DISCONNECTED_GRACE_MS = 2000;
// The server takes at most one ice-restart per 2 s per connection (and answers more with an error): keep a margin.
export const ICE_RESTART_MIN_INTERVAL_MS = 2500;
// After an automatic restart, ICE must be back within this long, or the next attempt starts.
export const ICE_RESTART_WATCHDOG_MS = 5000;
export const DEFAULT_ICE_RESTART_ATTEMPTS = 3;

/** VeilConnection methods: ICE restart. */
export const iceRestartMethods = {
  /**
   * Restarts ICE (new ICE credentials on both sides, e.g. after a network change): asks the server with
   * `ice-restart`, which answers with a re-offer carrying its new ice-ufrag/ice-pwd; the browser answers it and checks
   * with the new credentials. Resolves once that re-offer is answered (ICE then reconnects: watch
   * pc.iceConnectionState); rejects with a VeilError (reason 'ice-restart') if the server refused, or 'bad-state'
   * before the connection is up or after it ended. A call while a restart is pending joins it. The SDK also does this
   * on its own when ICE stays 'disconnected' for 2 s or 'failed' (at most `iceRestartAttempts` times in a row).
   * @returns {Promise<void>}
   */
  restartIce() {
    if (this._closed || !this.pc || !this._mediaUp) {
      return Promise.reject(new VeilError('restartIce() needs a connection whose media is up', 'bad-state'));
    }
    if (!this._iceRestart) {
      const r = {};
      r.promise = new Promise((resolve, reject) => { r.resolve = resolve; r.reject = reject; });
      const wait = Math.max(0, this._lastIceRestartAt + ICE_RESTART_MIN_INTERVAL_MS - Date.now());
      r.timer = setTimeout(() => {
        r.timer = null;
        if (this._closed) return;
        this._lastIceRestartAt = Date.now();
        this._send({ type: 'ice-restart' });
      }, wait);
      this._iceRestart = r;
    }
    return this._iceRestart.promise;
  },

  _endIceRestart(error) {
    const r = this._iceRestart;
    if (!r) return;
    this._iceRestart = null;
    clearTimeout(r.timer);
    if (error) r.reject(error); else r.resolve();
  },

  _onIceState() {
    const pc = this.pc;
    if (!pc || this._closed) return;
    const s = pc.iceConnectionState;
    if (s === 'connected' || s === 'completed') {
      this._iceRestartAttempts = 0;
      clearTimeout(this._iceTimer);
      this._iceTimer = null;
    } else if (this._mediaUp && !this._iceTimer && (s === 'disconnected' || s === 'failed')) {
      // before media was first up, the connect timeout and the failed state end the attempt instead
      this._iceTimer = setTimeout(() => this._autoIceRestart(), s === 'failed' ? 0 : ICE_DISCONNECTED_GRACE_MS);
    }
  },

  _autoIceRestart() {
    this._iceTimer = null;
    const pc = this.pc;
    if (!pc || this._closed) return;
    const s = pc.iceConnectionState;
    if (s === 'connected' || s === 'completed') return;
    if (this._iceRestartAttempts >= this.options.iceRestartAttempts) {
      this._abend('media', `media connection lost: ICE ${s} after ${this._iceRestartAttempts} ICE restarts`);
      return;
    }
    this._iceRestartAttempts++;
    this.restartIce().catch(() => { /* the watchdog below tries again or gives up */ });
    this._iceTimer = setTimeout(() => this._autoIceRestart(), ICE_RESTART_WATCHDOG_MS);
  },
};
