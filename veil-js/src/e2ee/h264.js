/**
 * The H.264 clear-range rule (docs/PROTOCOL.md §2.9; the same facts as Discord's DAVE protocol). The RTP packetizer
 * splits an Annex B frame at its start codes and reads each NAL unit header; the receiver's depacketizer parses SPS
 * and PPS and, in every slice, first_mb_in_slice, slice_type and pic_parameter_set_id. So, per NAL unit:
 *
 *   the start code, written as 00 00 00 01 (libwebrtc's depacketizer writes every start code with 4 bytes, so the
 *     receiver sees the same layout), and the 1-byte NAL header are clear;
 *   slices (type 1, 5): also the bytes up to and including the last bit of the third Exp-Golomb value of the slice
 *     header (emulation prevention bytes counted), i.e. first_mb_in_slice, slice_type, pic_parameter_set_id;
 *   SPS, PPS, AUD, end of sequence / stream, SPS extension, subset SPS (7, 8, 9, 10, 11, 13, 15): the whole unit;
 *   every other type (SEI, filler, partitions, …): only the header.
 * Adjacent clear ranges are merged; empty NAL units are left out. A frame that does not start with a start code is refused ('unsupported-codec').
 */

import { E2EEError } from './errors.js';

export const LONG_START_CODE = Object.freeze([0, 0, 0, 1]);
export const WHOLE_CLEAR_TYPES = Object.freeze([7, 8, 9, 10, 11, 13, 15]);

/** NAL units of an Annex B frame: [{start, header, end}] (start code at start, header byte at header, end excl.). */
export function nalUnits(data) {
  const found = [];
  const n = data.length;
  let i = 0;
  while (i + 2 < n) {
    if (data[i + 2] > 1) i += 3;
    else if (data[i + 1] !== 0) i += 2;
    else if (data[i] !== 0 || data[i + 2] !== 1) i += 1;
    else {
      const start = i > 0 && data[i - 1] === 0 ? i - 1 : i;
      found.push({ start, header: i + 3 });
      i += 3;
    }
  }
  for (let k = 0; k < found.length; k++) found[k].end = k + 1 < found.length ? found[k + 1].start : n;
  return found;
}

/**
 * The bytes of a slice payload (after the NAL header) that cover first_mb_in_slice, slice_type and
 * pic_parameter_set_id; 0 if they cannot be parsed (then only the header stays clear).
 */
export function sliceHeaderBytes(p) {
  let byte = 0;
  let bit = 0;
  let zeros = 0; // zero bytes before `byte` (for emulation prevention)
  let values = 0;
  let leading = 0;
  let inSuffix = 0;
  let last = -1;
  const advanceByte = () => {
    zeros = p[byte] === 0 ? zeros + 1 : 0;
    byte++;
    bit = 0;
    if (byte < p.length && zeros >= 2 && p[byte] === 3) {
      zeros = 0;
      byte++;
    }
  };
  while (values < 3) {
    if (byte >= p.length) return 0;
    const b = (p[byte] >> (7 - bit)) & 1;
    last = byte;
    if (inSuffix > 0) {
      inSuffix--;
      if (inSuffix === 0) values++;
    } else if (b === 0) {
      if (++leading > 31) return 0;
    } else if (leading === 0) {
      values++;
    } else {
      inSuffix = leading;
      leading = 0;
    }
    if (++bit === 8) advanceByte();
  }
  return last + 1;
}

/** The clear length of a NAL unit (header byte first), per the rule above. */
export function clearLength(nal) {
  if (nal.length === 0) return 0;
  const type = nal[0] & 0x1f;
  if (type === 1 || type === 5) return Math.min(nal.length, 1 + sliceHeaderBytes(nal.subarray(1)));
  if (WHOLE_CLEAR_TYPES.includes(type)) return nal.length;
  return 1;
}

/** The sender's layout: {frame (every start code 4 bytes), ranges [[offset, length]…] (merged)}. */
export function layout(data) {
  const all = nalUnits(data);
  if (all.length > 0 && all[0].start !== 0) all.length = 0;
  const units = all.filter((u) => u.end > u.header); // an empty NAL unit carries nothing: left out
  if (units.length === 0) {
    throw new E2EEError('unsupported-codec', 'H.264 frame does not start with a start code');
  }
  let size = 0;
  for (const u of units) size += 4 + (u.end - u.header);
  const frame = new Uint8Array(size);
  const ranges = [];
  let p = 0;
  for (const u of units) {
    const nal = data.subarray(u.header, u.end);
    frame.set(LONG_START_CODE, p);
    frame.set(nal, p + 4);
    const len = 4 + clearLength(nal);
    const last = ranges[ranges.length - 1];
    if (last && last[0] + last[1] === p) last[1] += len;
    else ranges.push([p, len]);
    p += 4 + nal.length;
  }
  return { frame, ranges };
}
