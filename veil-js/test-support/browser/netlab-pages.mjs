// The network-condition browser tests (test/browser/netlab.test.mjs): in-page code (a publisher with a synthetic
// camera, a subscriber that renders what it receives, the inbound video statistics) and the Node side: openCall()
// starts one publisher and N subscribers, each a Chromium in a network namespace of its own (so lab.setRate /
// setLoss act on one of them alone), observe() samples a subscriber, decodeSummary() reads the samples.
import { launchChromium } from '../helpers/browser.mjs';
import { waitFor } from '../helpers/server.mjs';

/**
 * Runs in the page: defines `window.makeNetlabCamera(width, height, fps)`, a canvas camera whose picture keeps
 * changing enough that the encoder wants a high bitrate at 720p (a scrolling smooth noise texture with a band of
 * it redrawn every frame, and a moving white block), seeded so every run draws the same pictures.
 */
export function netlabCameraSource() {
  return `
  window.makeNetlabCamera = function (W, H, fps) {
    const SW = 160, SH = 90;
    const canvas = document.createElement('canvas');
    canvas.width = W; canvas.height = H;
    const g = canvas.getContext('2d');
    const small = document.createElement('canvas');
    small.width = SW; small.height = SH;
    const sg = small.getContext('2d');
    const img = sg.createImageData(SW, SH);
    let seed = 12345;
    const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed & 0xff; };
    for (let i = 0; i < img.data.length; i += 4) {
      img.data[i] = rnd(); img.data[i + 1] = rnd(); img.data[i + 2] = rnd(); img.data[i + 3] = 255;
    }
    let n = 0;
    const draw = () => {
      const row0 = (n * 8) % SH;
      for (let y = row0; y < Math.min(SH, row0 + 8); y++) {
        for (let x = 0; x < SW; x++) {
          const i = (y * SW + x) * 4;
          img.data[i] = rnd(); img.data[i + 1] = rnd(); img.data[i + 2] = rnd();
        }
      }
      sg.putImageData(img, 0, 0);
      const dx = (n * 3) % W;
      g.imageSmoothingEnabled = true;
      g.drawImage(small, -dx, 0, W, H);
      g.drawImage(small, W - dx, 0, W, H);
      g.fillStyle = '#fff';
      g.fillRect((n * 11) % W, H - H / 9, W / 13, H / 9);
      n++;
    };
    draw();
    window.__drawTimer = setInterval(draw, Math.floor(1000 / fps));
    return canvas.captureStream(fps);
  };`;
}

/** Runs in the page: publishes the canvas camera (video only) on `channel`; resolves with the connection id. */
export async function publishInPage({ ws, channel, width, height, fps, options }) {
  const { default: Veil } = await import('/sdk/veil.js');
  const stream = window.makeNetlabCamera(width, height, fps);
  const conn = Veil.connection(ws).sendonly(channel, null, options || {});
  window.netlab = { conn };
  await conn.connect(stream);
  return conn.connectionId;
}

/** Runs in the page: outbound video of the publisher (resolution, bytes sent, Chromium's limitation reason). */
export async function outboundInPage() {
  const report = await window.netlab.conn.pc.getStats();
  const out = {};
  report.forEach(s => {
    if (s.type === 'outbound-rtp' && s.kind === 'video') {
      Object.assign(out, { ts: s.timestamp, bytesSent: s.bytesSent, width: s.frameWidth || 0, height: s.frameHeight || 0,
        reason: s.qualityLimitationReason, nackCount: s.nackCount || 0, retransmittedPacketsSent: s.retransmittedPacketsSent || 0 });
    }
  });
  return out;
}

/** Runs in the page: joins `channel` receive-only and renders every remote video track. */
export async function subscribeInPage({ ws, channel, options }) {
  const { default: Veil } = await import('/sdk/veil.js');
  const conn = Veil.connection(ws).recvonly(channel, null, options || {});
  window.netlab = { conn, videos: {} };
  conn.on('track', ev => {
    if (ev.track.kind !== 'video') return;
    const v = document.createElement('video');
    v.muted = true; v.autoplay = true; v.playsInline = true;
    v.srcObject = new MediaStream([ev.track]);
    document.body.appendChild(v);
    window.netlab.videos[ev.connectionId] = ev.track.id;
    v.play().catch(() => {});
  });
  await conn.connect();
  return conn.connectionId;
}

/** Runs in the page: the inbound video stats of the first remote video track (null before it arrives). */
export async function inboundInPage() {
  const ids = Object.values(window.netlab.videos);
  if (!ids.length) return null;
  const report = await window.netlab.conn.pc.getStats();
  let out = null;
  report.forEach(s => {
    if (s.type === 'inbound-rtp' && s.kind === 'video' && s.trackIdentifier === ids[0]) {
      out = {
        ts: s.timestamp, framesDecoded: s.framesDecoded || 0, framesDropped: s.framesDropped || 0,
        packetsReceived: s.packetsReceived || 0, packetsLost: s.packetsLost || 0, bytesReceived: s.bytesReceived || 0,
        nackCount: s.nackCount || 0, pliCount: s.pliCount || 0, firCount: s.firCount || 0,
        retransmittedPacketsReceived: s.retransmittedPacketsReceived || 0, rtxSsrc: s.rtxSsrc || 0,
        freezeCount: s.freezeCount || 0, totalFreezesDuration: s.totalFreezesDuration || 0,
        width: s.frameWidth || 0, height: s.frameHeight || 0, fps: s.framesPerSecond || 0,
        framesReceived: s.framesReceived || 0, keyFramesDecoded: s.keyFramesDecoded || 0,
        jitterBufferDelay: s.jitterBufferDelay || 0, jitterBufferTargetDelay: s.jitterBufferTargetDelay || 0,
        jitterBufferEmittedCount: s.jitterBufferEmittedCount || 0,
      };
    }
  });
  return out;
}

/**
 * Reads samples (each with ts in ms and framesDecoded): frames decoded, their rate, and the longest stall — the
 * longest time between a sample at which the count had last grown and the next sample at which it grew again (an
 * upper bound of the real gap between two decoded frames, by at most one sampling interval). A stall still open at
 * the last sample counts up to that sample.
 */
export function decodeSummary(samples) {
  if (samples.length < 2) throw new Error('decodeSummary needs at least two samples');
  const first = samples[0];
  const last = samples[samples.length - 1];
  let lastGrowth = first.ts;
  let longestStallMs = 0;
  for (let i = 1; i < samples.length; i++) {
    if (samples[i].framesDecoded > samples[i - 1].framesDecoded) {
      longestStallMs = Math.max(longestStallMs, samples[i].ts - lastGrowth);
      lastGrowth = samples[i].ts;
    }
  }
  longestStallMs = Math.max(longestStallMs, last.ts - lastGrowth);
  const seconds = (last.ts - first.ts) / 1000;
  const frames = last.framesDecoded - first.framesDecoded;
  return {
    seconds: round(seconds, 1), frames, fps: round(frames / seconds, 1), longestStallMs: Math.round(longestStallMs),
    kbps: Math.round((last.bytesReceived - first.bytesReceived) * 8 / (last.ts - first.ts)),
    freezes: last.freezeCount - first.freezeCount,
    freezeSeconds: round(last.totalFreezesDuration - first.totalFreezesDuration, 2),
  };
}

/**
 * One publisher (a `camera` = {width, height, fps} canvas, video only) and `subscribers` receive-only members on
 * `channel` of `server` (`options`: the SDK's connection options for all of them, e.g. {e2ee: true}), each a
 * Chromium in its own peer namespace of the server's lab; resolves once every
 * subscriber decodes. `close()` closes the browsers. Pass `sub.browser` to lab.setRate / setLoss / clear / counters.
 * @returns {Promise<{pub: {browser, page}, subs: {browser, page}[], close: () => Promise<void>}>}
 */
export async function openCall(server, { channel, camera, subscribers = 1, options = {} }) {
  const browsers = [];
  const open = async (name) => {
    const browser = await launchChromium({ lab: server.lab, name: `${channel}-${name}` });
    browsers.push(browser);
    const page = await (await browser.newContext()).newPage();
    page.on('pageerror', e => console.error(`${name} page error:`, e.message));
    await page.goto(server.base + '/');
    return { browser, page };
  };
  try {
    const pub = await open('publisher');
    await pub.page.addScriptTag({ content: netlabCameraSource() });
    await pub.page.evaluate(publishInPage, { ws: server.ws, channel, options, ...camera });
    const subs = [];
    for (let i = 0; i < subscribers; i++) {
      const sub = await open(`subscriber${i}`);
      await sub.page.evaluate(subscribeInPage, { ws: server.ws, channel, options });
      subs.push(sub);
    }
    for (const [i, sub] of subs.entries()) {
      await waitFor(`subscriber ${i} decodes the publisher`, async () => (await sub.page.evaluate(inboundInPage))?.framesDecoded > 30, 30000);
    }
    return { pub, subs, close: async () => { await Promise.all(browsers.map(b => b.close())); } };
  } catch (e) {
    await Promise.all(browsers.map(b => b.close()));
    throw e;
  }
}

/**
 * Samples a subscriber's inbound video every `intervalMs` until `ms` have passed by the stats' own clock (a
 * sampling rhythm only: every duration derived from the samples is taken from their timestamps).
 * VEIL_NETLAB_TRACE=1 prints every sample.
 */
export async function observe(page, ms, label = '', intervalMs = 200) {
  const samples = [await page.evaluate(inboundInPage)];
  while (samples[samples.length - 1].ts - samples[0].ts < ms) {
    await new Promise(r => setTimeout(r, intervalMs));
    const s = await page.evaluate(inboundInPage);
    if (process.env.VEIL_NETLAB_TRACE) console.log(`trace ${label} ${JSON.stringify(s)}`);
    samples.push(s);
  }
  return samples;
}

function round(v, digits) {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
