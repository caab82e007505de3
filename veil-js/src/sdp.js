// SDP helpers of the browser SDK: m-section parsing, ICE ufrag, video codec preferences and offer ordering,
// and the ICE server list (split out of veil.js, which re-exports the public ones).

import { VeilError } from './errors.js';

/** Splits an SDP into its m-sections: [{mid, kind, direction, port, msid}]. */
export function parseSections(sdp) {
  const out = [];
  const parts = sdp.split(/\r?\nm=/).slice(1);
  for (const part of parts) {
    const lines = ('m=' + part).split(/\r?\n/);
    const m = /^m=(\w+) (\d+)/.exec(lines[0]);
    const sec = { kind: m ? m[1] : '', port: m ? Number(m[2]) : 0, mid: null, direction: 'sendrecv', msid: null };
    for (const l of lines) {
      if (l.startsWith('a=mid:')) sec.mid = l.slice(6).trim();
      else if (/^a=(sendrecv|sendonly|recvonly|inactive)$/.test(l.trim())) sec.direction = l.trim().slice(2);
      else if (l.startsWith('a=msid:')) sec.msid = l.slice(7).trim().split(' ')[0];
    }
    out.push(sec);
  }
  return out;
}

/** The session-level (else first) a=ice-ufrag of an SDP, or null. */
export function iceUfrag(sdp) {
  const m = /^a=ice-ufrag:(\S+)/m.exec(sdp || '');
  return m ? m[1] : null;
}

/** Video codecs the E2EE worker protects, per frame format (src/e2ee/codec.js; H.264 and AV1 need SFrame's ranges). */
export const E2EE_VIDEO_CODECS = Object.freeze({ sframe: Object.freeze(['VP8', 'VP9', 'H264', 'AV1']),
  jframe: Object.freeze(['VP8', 'VP9']) });

/**
 * The codec preferences for a sending video transceiver (RTCRtpTransceiver.setCodecPreferences), or null to leave
 * the browser's: `wanted` (the `codecs` option, e.g. ['AV1', 'VP9', 'H264', 'VP8']) in its order, then, without
 * the option, the browser's own order; with E2EE only codecs the worker protects, so negotiation never picks one
 * whose frames would have to be dropped. RTX, RED and ULPFEC entries follow. Throws if nothing is left.
 */
export function videoCodecPreferences(capabilities, wanted, e2eeFormat) {
  if (!wanted && !e2eeFormat) return null;
  const name = c => c.mimeType.slice(c.mimeType.indexOf('/') + 1).toUpperCase();
  const aux = ['RTX', 'RED', 'ULPFEC', 'FLEXFEC-03'];
  const allowed = e2eeFormat ? E2EE_VIDEO_CODECS[e2eeFormat] || [] : null;
  const media = capabilities.filter(c => !aux.includes(name(c)) && (!allowed || allowed.includes(name(c))));
  let ordered = media;
  if (wanted) {
    const order = wanted.map(w => String(w).toUpperCase());
    ordered = order.flatMap(w => media.filter(c => name(c) === w));
  }
  if (ordered.length === 0) {
    throw new VeilError(`no video codec of ${JSON.stringify(wanted || [])} that this browser encodes`
      + (e2eeFormat ? ` and the E2EE worker protects (${allowed.join(', ')})` : ''), 'bad-argument');
  }
  return ordered.concat(capabilities.filter(c => aux.includes(name(c))));
}

/**
 * The server's offer with the payload types of every m-section it receives video on (a=recvonly: the client's
 * uploads) ordered by `wanted` (the `codecs` option) and, with E2EE, restricted to the codecs the worker protects;
 * the others (and their RTX) are left out with their rtpmap/fmtp/rtcp-fb lines. A sender sends the first codec of
 * the offer it answered, so this (not setCodecPreferences, which orders only the answer) picks what goes out.
 * Returns the SDP unchanged when there is neither an option nor E2EE; throws if a section would be left empty.
 */
export function orderOfferVideoCodecs(sdp, wanted, e2eeFormat) {
  if (!wanted && !e2eeFormat) return sdp;
  const allowed = e2eeFormat ? E2EE_VIDEO_CODECS[e2eeFormat] || [] : null;
  const order = wanted ? wanted.map(w => String(w).toUpperCase()) : null;
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const parts = sdp.split(/\r?\nm=/);
  for (let i = 1; i < parts.length; i++) {
    const lines = ('m=' + parts[i]).split(/\r?\n/);
    const m = /^m=video (\d+) (\S+) (.*)$/.exec(lines[0]);
    if (!m || m[1] === '0' || !lines.some(l => l.trim() === 'a=recvonly')) continue;
    const pts = m[3].trim().split(/\s+/);
    const name = {};
    const apt = {};
    for (const l of lines) {
      let x = /^a=rtpmap:(\d+) ([^/\s]+)/.exec(l);
      if (x) name[x[1]] = x[2].toUpperCase();
      x = /^a=fmtp:(\d+) .*\bapt=(\d+)/.exec(l);
      if (x) apt[x[1]] = x[2];
    }
    const media = pts.filter(pt => name[pt] && !['RTX', 'RED', 'ULPFEC', 'FLEXFEC-03'].includes(name[pt])
      && (!allowed || allowed.includes(name[pt])));
    const kept = order ? order.flatMap(w => media.filter(pt => name[pt] === w)) : media;
    if (kept.length === 0) {
      throw new VeilError(`the server offers no video codec of ${JSON.stringify(wanted || [])}`
        + (allowed ? ` that the E2EE worker protects (${allowed.join(', ')})` : '')
        + `; it offers ${pts.map(pt => name[pt]).filter(Boolean).join(', ')}`, 'bad-argument');
    }
    const rtx = kept.flatMap(k => pts.filter(pt => name[pt] === 'RTX' && apt[pt] === k));
    const all = kept.concat(rtx);
    const dropped = new Set(pts.filter(pt => !all.includes(pt)));
    const out = [`m=video ${m[1]} ${m[2]} ${all.join(' ')}`];
    for (const l of lines.slice(1)) {
      const x = /^a=(rtpmap|fmtp|rtcp-fb):(\d+)/.exec(l);
      if (x && dropped.has(x[2])) continue;
      out.push(l);
    }
    parts[i] = out.join(eol).slice(2);
  }
  return parts.join(eol + 'm=');
}

/**
 * The RTCIceServer list of a connection: the application's own (the `iceServers` option) then the server's offer's
 * `ice_servers` (docs/PROTOCOL.md §1.2: `{urls, username?, credential?}`, TURN REST credentials). Entries that are
 * not objects with 1-8 stun:/turn:/turns: urls are left out (a bad entry must not break the connection).
 */
export function iceServersOf(own, offered) {
  const ok = s => s && typeof s === 'object' && Array.isArray(s.urls) && s.urls.length > 0 && s.urls.length <= 8
    && s.urls.every(u => typeof u === 'string' && /^(stun|turns?):\S+$/.test(u) && u.length <= 512);
  const out = [];
  for (const s of Array.isArray(own) ? own : []) out.push(s);
  for (const s of Array.isArray(offered) ? offered : []) {
    if (!ok(s)) continue;
    const e = { urls: s.urls.slice() };
    if (typeof s.username === 'string' && typeof s.credential === 'string') {
      e.username = s.username;
      e.credential = s.credential;
    }
    out.push(e);
  }
  return out;
}
