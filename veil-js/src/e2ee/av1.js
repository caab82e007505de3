/**
 * The AV1 clear-range rule (docs/PROTOCOL.md §2.9). An AV1 frame (a temporal unit) is a chain of OBUs: a 1-byte
 * header (forbidden bit, 4-bit type, extension flag 0x04, has-size flag 0x02), an extension byte if flagged, an
 * obu_size (unsigned LEB128) if flagged, else the payload runs to the end of the frame; then the payload. The RTP
 * packetizer (AV1 RTP payload format §5) walks that chain, reading each header, extension and size, and leaves out
 * temporal delimiters and tile lists; the depacketizer gives the receiver's transform every OBU with a size field
 * (minimal LEB128). So the sender lays a frame out as the receiver will see it:
 *
 *   temporal delimiter (2), tile list (8) and padding (15) OBUs are left out;
 *   every other OBU is written with its header, its extension byte and a minimal obu_size, all clear, and its
 *     payload encrypted;
 *   except the last OBU, written without a size field (has-size flag cleared, clear: header and extension only):
 *     the packetizer then takes everything to the end of the frame as its payload, the ranged trailer
 *     (ranges.js: H ‖ R ‖ T ‖ r) included, and the receiver's depacketizer gives it a size field covering both.
 *
 * Before decrypting, the receiver undoes what the depacketizer added (`received`): the OBU whose size field reaches
 * exactly the end of the frame loses its size field and flag again (a frame whose last OBU has no size field is left
 * as it is). After decrypting, `restore` gives the last OBU its size field back, so the decoder gets what a call
 * without E2EE would give it. The frame needs no retry for emulated start codes: the packetizer never searches the
 * payload.
 */

import { E2EEError } from './errors.js';
import { uleb128 } from './ranges.js';

export const OBU_EXTENSION_FLAG = 0x04;
export const OBU_HAS_SIZE_FLAG = 0x02;
export const OBU_FORBIDDEN_BIT = 0x80;
/** OBU types the packetizer leaves out (or that carry nothing): temporal delimiter, tile list, padding. */
export const DROPPED_TYPES = Object.freeze([2, 8, 15]);

/** The type of an OBU header byte. */
export function obuType(header) {
  return (header >> 3) & 0x0f;
}

function readLeb(data, i) {
  let v = 0;
  let mul = 1;
  for (let k = 0; k < 8; k++) {
    if (i + k >= data.length) return null;
    const b = data[i + k];
    v += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return v > 0xffffffff ? null : { value: v, length: k + 1 };
    mul *= 128;
  }
  return null;
}

/**
 * The OBUs of a frame: [{start, header, ext (byte or -1), sizeAt (-1 if none), sizeLength, payload, end}]. Throws
 * `reason` (E2EEError) if the chain does not fit the frame or an OBU has its forbidden bit set.
 */
export function obus(data, reason = 'unsupported-codec') {
  const out = [];
  let i = 0;
  while (i < data.length) {
    const start = i;
    const header = data[i++];
    if (header & OBU_FORBIDDEN_BIT) throw new E2EEError(reason, 'AV1 OBU with the forbidden bit at ' + start);
    let ext = -1;
    if (header & OBU_EXTENSION_FLAG) {
      if (i >= data.length) throw new E2EEError(reason, 'AV1 OBU extension truncated');
      ext = data[i++];
    }
    let sizeAt = -1;
    let sizeLength = 0;
    let end = data.length;
    if (header & OBU_HAS_SIZE_FLAG) {
      const s = readLeb(data, i);
      if (!s || i + s.length + s.value > data.length) throw new E2EEError(reason, 'AV1 obu_size does not fit');
      sizeAt = i;
      sizeLength = s.length;
      i += s.length;
      end = i + s.value;
    }
    out.push({ start, header, ext, sizeAt, sizeLength, payload: i, end });
    i = end;
  }
  return out;
}

/** The sender's layout: {frame, ranges [[offset, length]…] (merged)}; see the module comment. */
export function layout(data) {
  const kept = obus(data).filter((o) => !DROPPED_TYPES.includes(obuType(o.header)));
  if (kept.length === 0) throw new E2EEError('unsupported-codec', 'AV1 frame without an OBU to send');
  const ranges = [];
  const parts = [];
  kept.forEach((o, k) => {
    const last = k === kept.length - 1;
    const head = [last ? o.header & ~OBU_HAS_SIZE_FLAG : o.header | OBU_HAS_SIZE_FLAG];
    if (o.ext >= 0) head.push(o.ext);
    if (!last) uleb128(o.end - o.payload, head);
    parts.push({ head, payload: data.subarray(o.payload, o.end) });
  });
  let size = 0;
  for (const p of parts) size += p.head.length + p.payload.length;
  const frame = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    frame.set(p.head, at);
    const prev = ranges[ranges.length - 1];
    if (prev && prev[0] + prev[1] === at) prev[1] += p.head.length;
    else ranges.push([at, p.head.length]);
    at += p.head.length;
    frame.set(p.payload, at);
    at += p.payload.length;
  }
  return { frame, ranges };
}

/**
 * A received frame as the sender laid it out: the OBU whose size field reaches the end of the frame loses the field
 * and its flag. Returns `data` itself when the last OBU has no size field. Throws 'bad-header' if the chain does
 * not fit.
 */
export function received(data) {
  const chain = obus(data, 'bad-header');
  const last = chain[chain.length - 1];
  if (!last || last.sizeAt < 0) {
    if (!last) throw new E2EEError('bad-header', 'empty AV1 frame');
    return data;
  }
  const out = new Uint8Array(data.length - last.sizeLength);
  out.set(data.subarray(0, last.sizeAt), 0);
  out[last.start] = last.header & ~OBU_HAS_SIZE_FLAG;
  out.set(data.subarray(last.payload), last.sizeAt);
  return out;
}

/** A decrypted layout with its last OBU given a size field again (every OBU then has one). */
export function restore(frame) {
  const chain = obus(frame, 'bad-header');
  const last = chain[chain.length - 1];
  if (!last || last.sizeAt >= 0) return frame;
  const size = [];
  uleb128(last.end - last.payload, size);
  const sizeAt = last.payload;
  const out = new Uint8Array(frame.length + size.length);
  out.set(frame.subarray(0, sizeAt), 0);
  out[last.start] = last.header | OBU_HAS_SIZE_FLAG;
  out.set(size, sizeAt);
  out.set(frame.subarray(sizeAt), sizeAt + size.length);
  return out;
}
