/**
 * The codec-aware clear prefix: how many leading bytes of an encoded frame stay in clear (and are authenticated as
 * AAD), so the SFU and the packetizer still see what they need. Same rules as veil-e2ee's dev.veil.e2ee.codec.Codec
 * and Jitsi's UNENCRYPTED_BYTES:
 *
 *   codec  frame type     clear prefix
 *   vp8    'key'          10 bytes (frame tag 3, start code 9d 01 2a, width and height 2 + 2; RFC 6386 §9.1)
 *   vp8    'delta'         3 bytes (the frame tag)
 *   vp8    unknown        10 if the P bit (byte 0, bit 0) is 0 (key frame), else 3
 *   opus   any             1 byte  (the TOC byte, RFC 6716 §3.1)
 *   none   any             0 bytes (the whole frame is encrypted)
 *
 * Every rule is clamped to the frame length: a frame shorter than its prefix is all prefix, never an error.
 * A codec is an object {name, clearPrefixLength(data: Uint8Array, type: 'key'|'delta'|undefined): number};
 *   h264   any            per-NAL-unit clear ranges carried in the frame (a codec with `layout`, see h264.js and
 *                         ranges.js; SFrame only: JFrame refuses it with 'unsupported-codec')
 *   av1    any            per-OBU clear ranges (header, extension, obu_size) carried in the frame (av1.js; SFrame
 *                         only), the last OBU's size field taken out before encryption and put back after decryption
 * A codec with `layout(data) → {frame, ranges}` is encrypted by ranges instead of a prefix; `startCodes` (H.264) makes
 * the sender encrypt again while the output holds an emulated start code; `received(data)` (before decryption) and
 * `restore(frame)` (after) undo what the RTP depacketizer changes (AV1).
 */

import { layout as h264Layout } from './h264.js';
import { layout as av1Layout, received as av1Received, restore as av1Restore } from './av1.js';

export const VP8_KEY_FRAME_PREFIX = 10;
export const VP8_DELTA_FRAME_PREFIX = 3;
export const OPUS_PREFIX = 1;
/** The largest prefix of any built-in codec. */
export const MAX_PREFIX = VP8_KEY_FRAME_PREFIX;

/** True when a VP8 frame is a key frame: from the encoder's type when known, else from the P bit. */
export function isVp8KeyFrame(data, type) {
  if (type === 'key') return true;
  if (type === 'delta') return false;
  return data.length > 0 && (data[0] & 1) === 0;
}

export const CODECS = Object.freeze({
  vp8: Object.freeze({
    name: 'vp8',
    clearPrefixLength(data, type) {
      if (data.length === 0) return 0;
      return Math.min(isVp8KeyFrame(data, type) ? VP8_KEY_FRAME_PREFIX : VP8_DELTA_FRAME_PREFIX, data.length);
    },
  }),
  opus: Object.freeze({
    name: 'opus',
    clearPrefixLength(data) {
      return Math.min(OPUS_PREFIX, data.length);
    },
  }),
  // H.264: per-NAL-unit clear ranges carried in the frame (h264.js, ranges.js; SFrame format only)
  h264: Object.freeze({
    name: 'h264',
    layout: h264Layout,
    startCodes: true,
    clearPrefixLength() {
      return 0;
    },
  }),
  // AV1: per-OBU clear ranges carried in the frame (av1.js, ranges.js; SFrame format only)
  av1: Object.freeze({
    name: 'av1',
    layout: av1Layout,
    received: av1Received,
    restore: av1Restore,
    clearPrefixLength() {
      return 0;
    },
  }),
  none: Object.freeze({
    name: 'none',
    clearPrefixLength() {
      return 0;
    },
  }),
});

const BY_MIME = new Map([
  ['video/vp8', CODECS.vp8],
  ['audio/opus', CODECS.opus],
  // VP9 frames can be encrypted whole (its packetizer does not parse the payload), as LiveKit does.
  ['video/vp9', CODECS.none],
  ['video/h264', CODECS.h264],
  ['video/av1', CODECS.av1],
]);

/**
 * The codec of a frame from its RTP mime type (RTCEncodedVideoFrame/AudioFrame getMetadata().mimeType, e.g.
 * 'video/VP8'), falling back to the transform's kind when the browser gives no mime type ('video' → vp8,
 * 'audio' → opus). Returns null for a codec Veil cannot protect (H.265, …): the caller must then drop the
 * frame rather than send it in clear.
 */
export function codecFor(mimeType, kind) {
  if (mimeType) return BY_MIME.get(String(mimeType).toLowerCase()) || null;
  if (kind === 'video') return CODECS.vp8;
  if (kind === 'audio') return CODECS.opus;
  return null;
}

const NOT_MEDIA = ['rtx', 'red', 'ulpfec', 'flexfec-03'];

/**
 * The media codecs negotiated on the m-section `mid` of an SDP (the local answer), in m-line order:
 * [{payloadType, mimeType}] (RTX, RED and FEC left out), or null if there is no such section. The E2EE worker uses
 * it for a frame whose metadata has no mimeType: by the frame's payloadType, else the first one (what a sender
 * sends).
 */
export function sectionCodecs(sdp, mid) {
  for (const part of String(sdp || '').split(/\r?\nm=/).slice(1)) {
    const lines = ('m=' + part).split(/\r?\n/);
    if (!lines.some((l) => l.trim() === 'a=mid:' + mid)) continue;
    const m = /^m=(\w+) \d+ \S+ (.*)$/.exec(lines[0]);
    if (!m) return null;
    const names = new Map();
    for (const l of lines) {
      const x = /^a=rtpmap:(\d+) ([^/\s]+)/.exec(l);
      if (x) names.set(Number(x[1]), x[2]);
    }
    return m[2].trim().split(/\s+/).map(Number).filter((pt) => names.has(pt)
      && !NOT_MEDIA.includes(names.get(pt).toLowerCase()))
      .map((pt) => ({ payloadType: pt, mimeType: m[1] + '/' + names.get(pt) }));
  }
  return null;
}
