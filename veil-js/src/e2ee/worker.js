/**
 * The Veil E2EE Worker, started by the SDK as
 *   new Worker(new URL('./e2ee/worker.js', import.meta.url), {type: 'module', name: 'Veil E2EE Worker'})
 *
 * Frames reach it in one of two ways:
 *   - RTCRtpScriptTransform: `onrtctransform`, with transformer.options
 *       {operation: 'encrypt'|'decrypt', kind: 'audio'|'video', senderId?, transformId?}
 *   - the createEncodedStreams fallback: a message
 *       {type: 'stream', operation, kind, senderId?, transformId?, readable, writable} (streams transferred)
 *
 * Messages from the main thread (handled in order; each may carry an `id`, answered by {type: 'ack', id} or, if it
 * failed, {type: 'e2ee-error', operation: 'message', reason, id}):
 *   {type: 'setFormat', format: 'sframe' | 'jframe', suite?, keyMode?}   (sframe, suite 4 by default; resets every
 *                                                                key; keyMode 'mls': receivers never ratchet)
 *   {type: 'setSendKey', kid, key}                               own key (kid: bigint | decimal string | number)
 *   {type: 'setReceiveKey', senderId, kid, key}                  a remote sender's key (older ones are kept)
 *   {type: 'setPassphraseKey', senderId (null = own, JFrame only), key}   passphrase mode (see framecryptor.js)
 *   {type: 'removeSender', senderId, expireOthers?}              (group keys: every other sender's keys held
 *                                                                now expire 2 s later)
 *   {type: 'bindReceiver', transformId, senderId}                (re)names the sender of a decrypt transform
 *   {type: 'setCodecs', transformId, codecs: [{payloadType, mimeType}]}   the codecs negotiated on the transform's
 *                                                                m-section (for frames without a metadata mimeType)
 *   {type: 'destroy'}                                            drops every key
 * There is no way to make the worker forward frames unencrypted: an unknown message type is an error, and a frame
 * that cannot be encrypted or decrypted is dropped.
 *   {type: 'ping'}                                               nothing (answered by its ack: the queue is idle)
 * Messages to the main thread:
 *   {type: 'e2ee-error', reason, operation, kind, senderId, suppressed, detail}   a frame was dropped
 *                                                                   (rate-limited; detail never holds key bytes)
 *   {type: 'e2ee-key-used', operation, senderId, kid}                     first frame under a key, per sender
 */

import { FrameCryptor } from './framecryptor.js';

const cryptor = new FrameCryptor((m) => self.postMessage(m));
let queue = Promise.resolve();

function keyFrameRequester(transformer, ctx) {
  let last = -Infinity;
  return () => {
    // After frames were dropped, the decoder needs a key frame; ask at most once a second.
    const now = performance.now();
    if (ctx.operation !== 'decrypt' || ctx.kind !== 'video' || now - last < 1000) return;
    last = now;
    if (transformer && typeof transformer.sendKeyFrameRequest === 'function') {
      transformer.sendKeyFrameRequest().catch(() => {});
    }
  };
}

function contextOf(o) {
  return { operation: o.operation, kind: o.kind, senderId: o.senderId, transformId: o.transformId };
}

self.onrtctransform = (event) => {
  const t = event.transformer;
  const ctx = contextOf(t.options || {});
  cryptor.pipe(t.readable, t.writable, ctx, { onRecovered: keyFrameRequester(t, ctx) });
};

self.onmessage = (event) => {
  const msg = event.data;
  if (msg && msg.type === 'stream') {
    const ctx = contextOf(msg);
    cryptor.pipe(msg.readable, msg.writable, ctx, { onRecovered: keyFrameRequester(null, ctx) });
    return;
  }
  queue = queue.then(() => cryptor.handleMessage(msg)).then(
    () => {
      if (msg && msg.id !== undefined) self.postMessage({ type: 'ack', id: msg.id });
    },
    (e) => {
      self.postMessage({ type: 'e2ee-error', operation: 'message', reason: (e && e.reason) || 'internal',
        detail: String(e && e.message), id: msg && msg.id });
    },
  );
};
