/**
 * Per-unit clear ranges (docs/PROTOCOL.md §2.9), for codecs whose RTP packetizer parses the whole frame (H.264).
 * Following the approach of Discord's DAVE protocol, the sender keeps several ranges of the frame in clear, encrypts
 * the bytes between them in place, and appends the ranges so the receiver can put the frame back together:
 *
 *   I ‖ H ‖ R ‖ T ‖ r
 *     I  the frame as the codec rule laid it out (see h264.js), with every byte outside the clear ranges replaced
 *        by the ciphertext (same length: the SFrame ciphers are counter-mode)
 *     H  the SFrame header (KID, CTR; RFC 9605 §4.3)
 *     R  the clear ranges: (offset, length) pairs in I, each an unsigned LEB128, in increasing order, disjoint
 *     T  the AEAD tag (Nt bytes of the suite)
 *     r  one byte: |H| + |R| (1..255)
 *   AAD = H ‖ R ‖ the clear bytes of I in order        plaintext = the bytes of I outside the ranges, in order
 *
 * The sender checks the output for an emulated start code (00 00 0x, x <= 3, with any of its three bytes outside
 * the clear ranges: ciphertext or trailer) and, if it finds one, encrypts again under the next CTR (at most
 * MAX_ATTEMPTS times, then the frame is refused with 'emulated-start-code'). So the packetizer finds exactly the
 * start codes of the clear ranges, and the receiver gets I back byte for byte.
 */

import { E2EEError } from './errors.js';

export const MAX_ATTEMPTS = 32;
export const MAX_META = 255;

export function uleb128(n, out) {
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
}

/** Encodes ranges [[offset, length], …] as LEB128 pairs. */
export function encodeRanges(ranges) {
  const out = [];
  for (const [o, l] of ranges) {
    uleb128(o, out);
    uleb128(l, out);
  }
  return Uint8Array.from(out);
}

/** Decodes LEB128 pairs; checks they are in order, disjoint, non-empty and inside a frame of `limit` bytes. */
export function decodeRanges(bytes, limit) {
  const ranges = [];
  let i = 0;
  const read = () => {
    let v = 0;
    let mul = 1;
    for (let k = 0; k < 5; k++) {
      if (i >= bytes.length) throw new E2EEError('bad-header', 'clear ranges truncated');
      const b = bytes[i++];
      v += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return v;
      mul *= 128;
    }
    throw new E2EEError('bad-header', 'clear range value too long');
  };
  let end = 0;
  while (i < bytes.length) {
    const o = read();
    const l = read();
    if (o < end || l === 0 || o + l > limit) throw new E2EEError('bad-header', 'clear ranges out of order or bounds');
    ranges.push([o, l]);
    end = o + l;
  }
  return ranges;
}

/** The clear bytes of `frame` (concatenated) and the others (concatenated). */
export function split(frame, ranges) {
  let clearLen = 0;
  for (const [, l] of ranges) clearLen += l;
  const clear = new Uint8Array(clearLen);
  const other = new Uint8Array(frame.length - clearLen);
  let c = 0;
  let p = 0;
  let pos = 0;
  for (const [o, l] of ranges) {
    other.set(frame.subarray(pos, o), p);
    p += o - pos;
    clear.set(frame.subarray(o, o + l), c);
    c += l;
    pos = o + l;
  }
  other.set(frame.subarray(pos), p);
  return { clear, other };
}

/** Writes `other` back into the gaps between the ranges of `frame` (in place). */
export function fill(frame, ranges, other) {
  let p = 0;
  let pos = 0;
  for (const [o, l] of ranges) {
    frame.set(other.subarray(p, p + o - pos), pos);
    p += o - pos;
    pos = o + l;
  }
  frame.set(other.subarray(p), pos);
}

/**
 * True if `out` holds 00 00 0x (x <= 3) with any of its three bytes outside the clear ranges (the first
 * `interleavedLength` bytes of out are the frame, with the ranges; everything after is trailer, never clear).
 */
export function hasEmulatedStartCode(out, ranges, interleavedLength) {
  const clear = new Uint8Array(out.length);
  for (const [o, l] of ranges) clear.fill(1, o, o + l);
  for (let j = 0; j + 2 < out.length; j++) {
    if (out[j + 2] > 3 || out[j + 1] !== 0 || out[j] !== 0) continue;
    if (!clear[j] || !clear[j + 1] || !clear[j + 2]) return true;
  }
  void interleavedLength;
  return false;
}

/** Assembles I ‖ H ‖ R ‖ T ‖ r from the SFrame output header ‖ ct ‖ tag (ct = the bytes outside the ranges). */
export function assemble(frame, ranges, rangeBytes, sframeOut, headerLength, nt) {
  const ctLen = sframeOut.length - headerLength - nt;
  const meta = headerLength + rangeBytes.length;
  if (meta > MAX_META) throw new E2EEError('unsupported-codec', 'too many clear ranges (' + ranges.length + ')');
  const out = new Uint8Array(frame.length + meta + nt + 1);
  out.set(frame, 0);
  fill(out.subarray(0, frame.length), ranges, sframeOut.subarray(headerLength, headerLength + ctLen));
  let p = frame.length;
  out.set(sframeOut.subarray(0, headerLength), p);
  p += headerLength;
  out.set(rangeBytes, p);
  p += rangeBytes.length;
  out.set(sframeOut.subarray(headerLength + ctLen), p);
  out[out.length - 1] = meta;
  return out;
}

/**
 * Splits a received I ‖ H ‖ R ‖ T ‖ r: {interleaved, meta (H ‖ R), tag}. Throws 'truncated' / 'bad-header'.
 */
export function disassemble(data, nt) {
  if (data.length < nt + 2) throw new E2EEError('truncated', 'shorter than a ranged frame trailer');
  const meta = data[data.length - 1];
  if (meta === 0 || meta + nt + 1 > data.length) throw new E2EEError('bad-header', 'ranged trailer does not fit');
  const iLen = data.length - 1 - nt - meta;
  return {
    interleaved: data.subarray(0, iLen),
    meta: data.subarray(iLen, iLen + meta),
    tag: data.subarray(iLen + meta, iLen + meta + nt),
  };
}
