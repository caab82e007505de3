import assert from 'node:assert/strict';
import { tryDecodeHeader } from '../../src/e2ee/sframe.js';
import { CODECS } from '../../src/e2ee/codec.js';
import { disassemble, decodeRanges } from '../../src/e2ee/ranges.js';
import { obus } from '../../src/e2ee/av1.js';

// Per-codec depacketizers for the forward tap (what the SFU sent a subscriber) and an in-page WebCodecs decoder,
// shared by the browser codec tests (e2ee-codecs.test.mjs, firefox.test.mjs), and the per-codec check of a forwarded
// frame against its plaintext. Each depacketizer turns tapped RTP payloads of one
// publisher into the frames a receiver's encoded transform gets: [{ts, seq, key, data: Buffer}] in sequence order.

const seqOrder = (a, b) => ((a.seq - b.seq + 0x8000) & 0xffff) - 0x8000;

/** Packets grouped by RTP timestamp, each group sorted by sequence number and checked for gaps. */
function byTimestamp(packets) {
  const byTs = new Map();
  for (const p of packets) {
    if (!byTs.has(p.ts)) byTs.set(p.ts, new Map());
    byTs.get(p.ts).set(p.seq, p);
  }
  const out = [];
  for (const [ts, m] of byTs) {
    const list = [...m.values()].sort(seqOrder);
    let contiguous = true;
    for (let i = 1; i < list.length; i++) if (((list[i - 1].seq + 1) & 0xffff) !== list[i].seq) contiguous = false;
    out.push({ ts, list, contiguous });
  }
  return out;
}

/** H.264 frames (Annex B, 4-byte start codes) from RTP payloads (single NAL, STAP-A, FU-A; RFC 6184). */
export function h264Frames(packets) {
  const frames = [];
  for (const { ts, list, contiguous } of byTimestamp(packets)) {
    if (!list.length || !list[list.length - 1].marker || !contiguous) continue;
    let ok = true;
    const parts = [];
    let inFu = false;
    for (const { payload: p } of list) {
      const type = p[0] & 0x1f;
      if (type === 24) {
        for (let i = 1; i + 2 <= p.length;) {
          const n = p.readUInt16BE(i);
          parts.push(Buffer.from([0, 0, 0, 1]), p.subarray(i + 2, i + 2 + n));
          i += 2 + n;
        }
      } else if (type === 28) {
        const start = (p[1] & 0x80) !== 0;
        if (start) {
          parts.push(Buffer.from([0, 0, 0, 1, (p[0] & 0xe0) | (p[1] & 0x1f)]));
          inFu = true;
        } else if (!inFu) ok = false;
        parts.push(p.subarray(2));
        if (p[1] & 0x40) inFu = false;
      } else if (type >= 1 && type <= 23) {
        parts.push(Buffer.from([0, 0, 0, 1]), p);
      } else ok = false;
    }
    if (!ok) continue;
    const data = Buffer.concat(parts);
    frames.push({ ts, seq: list[0].seq, key: hasSps(data), data });
  }
  return frames.sort(seqOrder);
}

function hasSps(d) {
  for (let j = 4; j < Math.min(d.length, 64); j++) {
    if (d[j - 1] === 1 && d[j - 2] === 0 && d[j - 3] === 0 && (d[j] & 0x1f) === 7) return true;
  }
  return false;
}

/** Length of the VP9 payload descriptor (RFC 9628 §4.2) at the start of `p`, its B/E/P bits and spatial id. */
export function vp9Descriptor(p) {
  const b0 = p[0];
  const I = b0 & 0x80; const P = b0 & 0x40; const L = b0 & 0x20; const F = b0 & 0x10;
  const B = b0 & 0x08; const E = b0 & 0x04; const V = b0 & 0x02;
  let n = 1;
  if (I) n += (p[n] & 0x80) ? 2 : 1;
  let sid = 0;
  let tid = 0;
  if (L) {
    tid = p[n] >> 5;
    sid = (p[n] >> 1) & 0x07;
    n += F ? 1 : 2;
  }
  if (F && P) { let more = true; while (more) { more = (p[n] & 0x01) !== 0; n++; } }
  if (V) {
    const ss = p[n++];
    const ns = (ss >> 5) + 1;
    if (ss & 0x10) n += 4 * ns;
    if (ss & 0x08) {
      const ng = p[n++];
      for (let g = 0; g < ng; g++) { const r = (p[n] >> 2) & 0x03; n += 1 + r; }
    }
  }
  return { length: n, begin: !!B, end: !!E, inter: !!P, sid, tid };
}

/**
 * VP9 frames from RTP payloads: within one RTP timestamp, each run from a B packet to an E packet with no gap is
 * one frame (SVC sends one frame per spatial layer under the same timestamp). `sid`/`tid` from the descriptor.
 */
export function vp9Frames(packets) {
  const frames = [];
  for (const { ts, list } of byTimestamp(packets)) {
    let run = null;
    for (const p of list) {
      const d = vp9Descriptor(p.payload);
      if (d.begin) run = { first: p, prev: p.seq, d0: d, parts: [] };
      else if (!run || ((run.prev + 1) & 0xffff) !== p.seq) { run = null; continue; }
      run.prev = p.seq;
      run.parts.push(p.payload.subarray(d.length));
      if (d.end) {
        frames.push({ ts, seq: run.first.seq, key: !run.d0.inter, sid: run.d0.sid, tid: run.d0.tid,
          data: Buffer.concat(run.parts) });
        run = null;
      }
    }
  }
  return frames.sort(seqOrder);
}

function readLeb(b, i) {
  let v = 0;
  let mul = 1;
  for (let k = 0; k < 8; k++) {
    const x = b[i + k];
    if (x === undefined) return null;
    v += (x & 0x7f) * mul;
    if ((x & 0x80) === 0) return { value: v, length: k + 1 };
    mul *= 128;
  }
  return null;
}

function leb(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/**
 * AV1 frames from RTP payloads (AV1 RTP payload format §4.4-4.5: aggregation header |Z|Y|W W|N|-|-|-|, OBU elements,
 * each but the last of W elements with a LEB128 length), rebuilt as the depacketizer gives them to the receiver:
 * every OBU with its size field (minimal LEB128). `key` is the N bit of the first packet.
 */
export function av1Frames(packets) {
  const frames = [];
  for (const { ts, list, contiguous } of byTimestamp(packets)) {
    if (!list.length || !list[list.length - 1].marker || !contiguous) continue;
    const elements = [];
    let pending = null; // a fragment continued in the next packet
    let ok = (list[0].payload[0] & 0x80) === 0;
    for (const { payload: p } of list) {
      const agg = p[0];
      const z = (agg & 0x80) !== 0;
      const y = (agg & 0x40) !== 0;
      const w = (agg >> 4) & 0x03;
      let i = 1;
      const els = [];
      while (i < p.length) {
        const lastOfW = w !== 0 && els.length === w - 1;
        let len;
        if (lastOfW) len = p.length - i;
        else {
          const l = readLeb(p, i);
          if (!l) { ok = false; break; }
          i += l.length;
          len = l.value;
        }
        els.push(p.subarray(i, i + len));
        i += len;
      }
      els.forEach((e, k) => {
        const continues = k === 0 && z;
        if (continues) {
          if (!pending) ok = false;
          else pending.push(e);
        } else {
          if (pending) ok = false;
          pending = [e];
        }
        const open = k === els.length - 1 && y;
        if (!open && pending) {
          elements.push(Buffer.concat(pending));
          pending = null;
        }
      });
    }
    if (!ok || pending) continue;
    const parts = [];
    for (const e of elements) {
      const h = e[0];
      let j = 1;
      const head = [h | 0x02];
      if (h & 0x04) head.push(e[j++]);
      let payload;
      if (h & 0x02) {
        const l = readLeb(e, j);
        payload = e.subarray(j + l.length, j + l.length + l.value);
      } else payload = e.subarray(j);
      parts.push(Buffer.from(head), Buffer.from(leb(payload.length)), payload);
    }
    frames.push({ ts, seq: list[0].seq, key: (list[0].payload[0] & 0x08) !== 0, data: Buffer.concat(parts) });
  }
  return frames.sort(seqOrder);
}

/**
 * In-page: decodes one key frame with WebCodecs ({bytes, config: VideoDecoderConfig}); the mean colour of its
 * top-left, {nothing} if no picture came out, or the error.
 */
export async function decodeKeyFrameInPage({ bytes, config }) {
  return new Promise(resolve => {
    let done = false;
    const finish = v => { if (!done) { done = true; resolve(v); } };
    const dec = new VideoDecoder({
      output: frame => {
        const c = new OffscreenCanvas(frame.displayWidth, frame.displayHeight);
        const g = c.getContext('2d');
        g.drawImage(frame, 0, 0);
        const d = g.getImageData(4, 4, 16, 16).data;
        frame.close();
        const sum = [0, 0, 0];
        for (let i = 0; i < d.length; i += 4) { sum[0] += d[i]; sum[1] += d[i + 1]; sum[2] += d[i + 2]; }
        finish({ colour: sum.map(v => Math.round(v / (d.length / 4))) });
      },
      error: e => finish({ error: String(e && e.message) }),
    });
    try {
      dec.configure(config);
      dec.decode(new EncodedVideoChunk({ type: 'key', timestamp: 0, data: new Uint8Array(bytes) }));
      dec.flush().then(() => finish({ nothing: true }), e => finish({ error: String(e && e.message) }));
    } catch (e) {
      finish({ error: String(e && e.message) });
    }
  });
}

/** In-page: the mime type and scalability mode of the outbound video (the highest layer's stats), or nulls. */
export async function outboundVideoInPage() {
  const report = await window.veil.conn.pc.getStats();
  let codecId = null;
  let mode = null;
  report.forEach(s => {
    if (s.type === 'outbound-rtp' && s.kind === 'video' && s.codecId) {
      codecId = s.codecId;
      mode = s.scalabilityMode || mode;
    }
  });
  const c = codecId && report.get(codecId);
  return { mimeType: c ? c.mimeType : null, scalabilityMode: mode };
}

const NT = 16; // the tag length of the default suite

/** H.264: every start code the packetizer saw is clear with its NAL header; no emulated start code outside. */
function checkH264Structure(data, clear, interleaved) {
  for (let j = 0; j + 3 < interleaved.length; j++) {
    if (data[j] === 0 && data[j + 1] === 0 && data[j + 2] === 0 && data[j + 3] === 1) {
      assert.ok(clear[j] && clear[j + 4], `start code at ${j} and its NAL header are clear`);
    }
  }
  for (let j = 0; j + 2 < data.length; j++) {
    if (data[j] === 0 && data[j + 1] === 0 && data[j + 2] <= 3) {
      assert.ok(clear[j] && clear[j + 1] && clear[j + 2], `no emulated start code outside the ranges (at ${j})`);
    }
  }
}

/** AV1: the clear ranges are exactly every OBU's header, extension and size field (merged when adjacent). */
function checkAv1Structure(data, clear, interleaved, ranges) {
  const expected = [];
  for (const o of obus(interleaved, 'bad-header')) {
    const prev = expected[expected.length - 1];
    if (prev && prev[0] + prev[1] === o.start) prev[1] += o.payload - o.start;
    else expected.push([o.start, o.payload - o.start]);
    assert.ok(![2, 8, 15].includes((o.header >> 3) & 15), 'no temporal delimiter, tile list or padding OBU');
  }
  assert.deepEqual(ranges, expected, 'the clear ranges are the OBU headers');
}

/**
 * Per codec (the `codecs` option name): its mime type, depacketizer, E2EE rule, WebCodecs decoder config, the structure
 * check of a ranged frame, and the e2ee error reasons a healthy call never has.
 */
export const CODEC_CASES = Object.freeze({
  H264: { codec: 'H264', mime: 'video/H264', frames: h264Frames, rule: CODECS.h264, structure: checkH264Structure,
    decoder: { codec: 'avc1.42e01f', avc: { format: 'annexb' } }, errors: ['unsupported-codec', 'emulated-start-code'] },
  VP9: { codec: 'VP9', mime: 'video/VP9', frames: vp9Frames, rule: CODECS.none, decoder: { codec: 'vp09.00.10.08' },
    errors: ['unsupported-codec'] },
  AV1: { codec: 'AV1', mime: 'video/AV1', frames: av1Frames, rule: CODECS.av1, structure: checkAv1Structure,
    decoder: { codec: 'av01.0.04M.08' }, errors: ['unsupported-codec'] },
});

/**
 * A forwarded frame `data` (as the receiver's transform gets it) against its decrypted `plain`: for a ranged codec
 * the clear ranges are exactly the codec's (c.structure), clear bytes equal the plaintext and the others are
 * ciphertext; for a codec encrypted whole, an SFrame header, the tag and no plaintext run.
 */
export function assertForwardedFrame(c, data, plain) {
  if (c.rule.layout) {
    const view = c.rule.received ? c.rule.received(data) : data;
    const { interleaved, meta } = disassemble(view, NT);
    const h = tryDecodeHeader(meta, 0);
    assert.ok(h, 'an SFrame header in the trailer');
    const ranges = decodeRanges(meta.subarray(h.length), interleaved.length);
    const clear = new Uint8Array(view.length);
    for (const [o, l] of ranges) clear.fill(1, o, o + l);
    c.structure(view, clear, interleaved, ranges);
    const laid = c.rule.layout(plain).frame; // the plaintext as the sender laid it out
    assert.equal(laid.length, interleaved.length);
    let outside = 0;
    let same = 0;
    for (let j = 0; j < laid.length; j++) {
      if (clear[j]) assert.equal(laid[j], view[j], 'clear bytes are the plaintext');
      else { outside++; if (laid[j] === view[j]) same++; }
    }
    assert.ok(outside > 0 && same < outside / 8 + 2, `ciphertext past the clear ranges (${same}/${outside} equal)`);
  } else {
    const h = tryDecodeHeader(data, 0);
    assert.ok(h, 'every forwarded frame starts with an SFrame header');
    assert.equal(data.length, plain.length + h.length + NT, 'SFrame header and tag');
    assert.equal(Buffer.from(data).includes(Buffer.from(plain.subarray(0, Math.min(16, plain.length)))), false,
      'no plaintext run in what was forwarded');
  }
}
