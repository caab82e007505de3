// Simulcast in the browser SDK (docs/PROTOCOL.md §1.3 "Simulcast"): the server offers to receive layers
// (a=rid:<rid> recv, a=simulcast:recv q;h;f, lowest first); the browser, as answerer, makes one encoding per rid on
// the sender of that m-section; the SDK gives those encodings their resolution and bitrate.

/** Simulcast layers for camera video, lowest first (as the server offers them): quarter, half and full resolution. */
export const DEFAULT_SIMULCAST_ENCODINGS = Object.freeze([
  Object.freeze({ scaleResolutionDownBy: 4, maxBitrate: 150000 }),
  Object.freeze({ scaleResolutionDownBy: 2, maxBitrate: 500000 }),
  Object.freeze({ scaleResolutionDownBy: 1, maxBitrate: 2500000 }),
]);

/** The rids of an m-section's a=simulcast:recv (the layers the server asks for, lowest first), or []. */
export function simulcastRecvRids(section) {
  const m = /^a=simulcast:\s*recv\s+(\S+)/m.exec(section || '');
  if (!m) return [];
  return m[1].replace(/^rid=/, '').split(';').map(a => a.split(',')[0].replace(/^~/, '')).filter(Boolean);
}

/** The m-sections of an SDP as text (without the session part), in order. */
export function sectionTexts(sdp) {
  return sdp.split(/\r?\n(?=m=)/).slice(1);
}

/** An SDP without simulcast (a=rid and a=simulcast lines): what a client sending one layer sets as remote offer. */
export function withoutSimulcast(sdp) {
  return sdp.split(/\r\n/).filter(l => !/^a=(rid|simulcast):/.test(l)).join('\r\n');
}

/**
 * Gives a sender's simulcast encodings (named after `rids`, lowest first) their resolution, bitrate and frame rate
 * from `table` (lowest first; default DEFAULT_SIMULCAST_ENCODINGS). With fewer layers than the table, the top
 * entries are used (the last layer is always the table's last). Nothing to do with fewer than two encodings.
 */
export async function setSimulcastEncodings(sender, rids, table) {
  const t = Array.isArray(table) ? table : DEFAULT_SIMULCAST_ENCODINGS;
  const params = sender.getParameters();
  if (!params.encodings || params.encodings.length < 2) return;
  for (const e of params.encodings) {
    const i = rids.indexOf(e.rid);
    if (i < 0) continue;
    const conf = t[Math.max(0, t.length - rids.length + i)] || {};
    if (conf.scaleResolutionDownBy !== undefined) e.scaleResolutionDownBy = conf.scaleResolutionDownBy;
    if (conf.maxBitrate !== undefined) e.maxBitrate = conf.maxBitrate;
    if (conf.maxFramerate !== undefined) e.maxFramerate = conf.maxFramerate;
    e.active = true;
  }
  await sender.setParameters(params);
}

/**
 * Gives every encoding of a sender the scalability mode `mode` (W3C webrtc-svc, e.g. 'L1T3', 'L3T3_KEY'): temporal
 * and spatial layers inside one RTP stream. Throws the browser's error (e.g. a mode the codec cannot encode).
 */
export async function setScalabilityMode(sender, mode) {
  const params = sender.getParameters();
  if (!params.encodings || params.encodings.length === 0) params.encodings = [{}];
  for (const e of params.encodings) e.scalabilityMode = mode;
  await sender.setParameters(params);
}
