// In-page code and tap helpers shared by the browser E2EE tests (e2ee-*.test.mjs). Functions passed to
// page.evaluate run in the page; the rest runs in node.
import { readFileSync, existsSync } from 'node:fs';
import { syntheticStreamSource } from '../helpers/browser.mjs';

/** In-page: a small synthetic camera (a solid colour with a moving bar, 160x120 at 15 fps) and an oscillator. */
export function smallStreamSource({ width = 160, height = 120 } = {}) {
  return syntheticStreamSource({ fn: 'makeSmallStream', width, height, fps: 15, step: 5 });
}

/**
 * A fresh page (own browser context) on the server's demo origin with the small test stream installed (160x120, or
 * `size` {width, height}).
 */
export async function openSmallStreamPage(browser, base, size) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', e => console.error('page error:', e.message));
  await page.goto(base + '/');
  await page.addScriptTag({ content: smallStreamSource(size) });
  return page;
}

/**
 * In-page: joins `channel` with E2EE through the SDK (`role` default sendrecv; recvonly sends nothing); records
 * tracks, frames (rVFC), e2ee events. Key mode 'sender-keys' (the tests using this were written for it) unless
 * `options` name one; `options: {keyMode: null}` runs the SDK's default (MLS, or sender keys with a passphrase).
 */
export async function joinE2eeInPage({ ws, channel, rgb, hz, name, options, role }) {
  const { default: Veil } = await import('/sdk/veil.js');
  await Veil.initE2EE();
  const stream = role === 'recvonly' ? null : window.makeSmallStream(rgb, hz);
  const conn = Veil.connection(ws)[role || 'sendrecv'](channel, null,
    { signalingNotifyMetadata: { name }, e2ee: true, keepKeysForTesting: true,
      ...(options && options.e2ee === false ? {} : { keyMode: 'sender-keys' }), ...(options || {}) });
  const now = () => performance.timeOrigin + performance.now();
  const veil = { conn, remote: {}, events: [], notifies: [], codes: [], t0: now() };
  window.veil = veil;
  conn.on('e2ee', ev => {
    veil.events.push(ev);
    if (ev.type === 'verification-code') veil.codes.push(ev.code);
  });
  conn.on('notify', m => veil.notifies.push({ ...m, time: now() }));
  conn.on('track', ev => {
    const r = (veil.remote[ev.connectionId] ||= { tracks: {}, frames: [] });
    r.tracks[ev.track.kind] = ev.track;
    if (ev.track.kind === 'video') r.screen = !!ev.screen;
    if (ev.track.kind === 'audio') {
      // played out, so the inbound-rtp stats count decoded samples and their energy
      const a = new Audio();
      a.srcObject = new MediaStream([ev.track]);
      a.play().catch(() => {});
      r.audioEl = a;
    }
    if (ev.track.kind === 'video') {
      const v = document.createElement('video');
      v.muted = true; v.autoplay = true; v.playsInline = true;
      v.srcObject = new MediaStream([ev.track]);
      v.style.cssText = 'width:80px;height:60px';
      document.body.appendChild(v);
      r.video = v;
      const onFrame = () => {
        r.frames.push(now());
        if (r.frames.length > 4000) r.frames.splice(0, 1000);
        v.requestVideoFrameCallback(onFrame);
      };
      v.requestVideoFrameCallback(onFrame);
      v.play().catch(() => {});
    }
  });
  await conn.connect(stream);
  veil.connectedAt = now();
  return conn.connectionId;
}

/** In-page: per remote connection id, the inbound video/audio stats and the first-frame time. */
export async function e2eeStatsInPage() {
  const veil = window.veil;
  const out = {};
  if (!veil.conn.pc) return out;
  const report = await veil.conn.pc.getStats();
  const byTrack = {};
  report.forEach(s => {
    if (s.type === 'inbound-rtp') {
      byTrack[s.trackIdentifier] = { framesDecoded: s.framesDecoded || 0, packetsReceived: s.packetsReceived || 0,
        totalAudioEnergy: s.totalAudioEnergy || 0, totalSamplesReceived: s.totalSamplesReceived || 0,
        concealedSamples: s.concealedSamples || 0 };
    }
  });
  for (const [cid, r] of Object.entries(veil.remote)) {
    out[cid] = {
      video: r.tracks.video ? byTrack[r.tracks.video.id] || null : null,
      audio: r.tracks.audio ? byTrack[r.tracks.audio.id] || null : null,
      firstFrame: r.frames.length ? r.frames[0] : null,
    };
  }
  return out;
}

/** In-page: the mean colour of the top-left of the remote video of `cid`, away from the moving bar. */
export function remoteColourInPage(cid) {
  const r = window.veil.remote[cid];
  if (!r || !r.video || r.video.videoWidth === 0) return null;
  const c = document.createElement('canvas');
  c.width = 64; c.height = 48;
  const g = c.getContext('2d');
  g.drawImage(r.video, 0, 0, 64, 48);
  const d = g.getImageData(8, 8, 16, 16).data;
  const sum = [0, 0, 0];
  for (let i = 0; i < d.length; i += 4) { sum[0] += d[i]; sum[1] += d[i + 1]; sum[2] += d[i + 2]; }
  return sum.map(v => Math.round(v / (d.length / 4)));
}

/** In-page: the E2EE view of the connection (fingerprints, code). */
export function e2eeViewInPage() {
  const c = window.veil.conn;
  return { self: c.e2eeSelfFingerprint, remote: c.e2eeRemoteFingerprints, code: c.e2eeVerificationCode,
    codes: window.veil.codes.slice(), id: c.connectionId };
}

export function closeColour(a, b, tol) {
  return !!a && a.every((v, i) => Math.abs(v - b[i]) <= tol);
}

// ------------------------------------------------------------------------------------------------- the tap

/** Reads the tap file: [{publisher, consumer, seq, ts, marker, payload: Buffer}] (a partial last line is skipped). */
export function readTap(file) {
  if (!existsSync(file)) return [];
  const out = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      const o = JSON.parse(line);
      o.payload = Buffer.from(o.payload, 'base64');
      out.push(o);
    } catch { /* the line being written */ }
  }
  return out;
}

/** Length of the VP8 RTP payload descriptor (RFC 7741 §4.2) at the start of `p`, and its S bit and PID. */
export function vp8Descriptor(p) {
  let n = 1;
  const x = (p[0] & 0x80) !== 0;
  const s = (p[0] & 0x10) !== 0;
  const pid = p[0] & 0x07;
  if (x) {
    const ext = p[1];
    n = 2;
    if (ext & 0x80) n += (p[n] & 0x80) ? 2 : 1; // I: picture id, 7 or 15 bits
    if (ext & 0x40) n += 1; // L: TL0PICIDX
    if (ext & 0x30) n += 1; // T or K
  }
  return { length: n, start: s && pid === 0 };
}

/**
 * Reassembles whole frames (the bytes the sender's encoded transform produced) from tapped packets of one
 * publisher: packets of one RTP timestamp, in sequence order, complete from a start packet to the marker with no
 * missing sequence number. Returns [{ts, seq, data: Buffer}] in arrival order.
 */
export function reassemble(packets) {
  const byKey = new Map();
  for (const p of packets) {
    const k = p.consumer + '/' + p.ts;
    if (!byKey.has(k)) byKey.set(k, new Map());
    byKey.get(k).set(p.seq, p);
  }
  const frames = [];
  for (const [, m] of byKey) {
    const list = [...m.values()].sort((a, b) => ((a.seq - b.seq + 0x8000) & 0xffff) - 0x8000);
    if (!list.length || !list[list.length - 1].marker) continue;
    const d0 = vp8Descriptor(list[0].payload);
    if (!d0.start) continue;
    let ok = true;
    for (let i = 1; i < list.length; i++) if (((list[i - 1].seq + 1) & 0xffff) !== list[i].seq) ok = false;
    if (!ok) continue;
    const parts = list.map(p => p.payload.subarray(vp8Descriptor(p.payload).length));
    frames.push({ ts: list[0].ts, seq: list[0].seq, data: Buffer.concat(parts) });
  }
  return frames.sort((a, b) => ((a.seq - b.seq + 0x8000) & 0xffff) - 0x8000);
}
