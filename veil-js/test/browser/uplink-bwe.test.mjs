// Uplink congestion control (issue 9, first slice): a Chromium publisher sending a 1280x720 30 fps camera through a
// real veil-server.jar must ramp up quickly. The server offers publishers the transport-wide sequence number
// extension with transport-cc (and goog-remb as a fallback), RTX (received only: Chromium sends its bandwidth probes
// as RTX padding) and x-google-start-bitrate=1000, and sends transport-wide feedback for every packet, so Chromium's
// probes and delay-based estimator run. Before, it crept up on loss reports alone: ~500 kbit/s at 480x270 after 10 s.
//
// Measured from the publisher's own getStats(): outbound-rtp video frameWidth/frameHeight, bytesSent deltas (>= 1 s
// window, on the stats' own timestamps), qualityLimitationReason, and the candidate pair's availableOutgoingBitrate
// (Chromium's estimate); plus the server's uplink counters from /metrics. One JSON line, "uplink-bwe", carries the
// figures for docs/BENCHMARKS.md (VEIL_UPLINK_TRACE=1 prints every sample).
//
// Bounds: the aim is 1280x720 and >= 1.5 Mbit/s within 5 s (measured here: about 1.1-3 s). The assertion is
// looser, for this loaded 2-core box: 1280x720 and >= 1.2 Mbit/s within 10 s (VEIL_UPLINK_DEADLINE_MS and
// VEIL_UPLINK_MIN_KBPS override it). VEIL_UPLINK_SOURCE=fake uses Chromium's fake camera at 1280x720 instead of the
// canvas (its picture is so simple that the encoder never needs 1.2 Mbit/s, so the canvas is the default).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../test-support/helpers/server.mjs';
import { launchChromium } from '../../test-support/helpers/browser.mjs';

const DEADLINE_MS = Number(process.env.VEIL_UPLINK_DEADLINE_MS || 10000);
const MIN_KBPS = Number(process.env.VEIL_UPLINK_MIN_KBPS || 1200);
const OBSERVE_MS = Number(process.env.VEIL_UPLINK_OBSERVE_MS || DEADLINE_MS);
const SOURCE = process.env.VEIL_UPLINK_SOURCE || 'canvas';
let server;
let browser;

/**
 * Runs in the page: a 1280x720 30 fps canvas camera whose picture keeps changing enough that the encoder wants well
 * over 1.5 Mbit/s (a scrolling smooth noise texture with a part of it redrawn every frame; pure per-frame noise would
 * make VP8's quality scaler step the resolution down instead).
 */
function cameraSource() {
  return `
  window.makeHdCamera = function () {
    const W = 1280, H = 720, SW = 160, SH = 90;
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
      // redraw a band of the texture (8 of 90 rows) each frame, so no two frames are alike
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
      g.fillRect((n * 11) % W, H - 80, 96, 80);
      n++;
    };
    draw();
    window.__drawTimer = setInterval(draw, 33);
    return canvas.captureStream(30);
  };`;
}

async function publishInPage({ ws, source }) {
  const { default: Veil } = await import('/sdk/veil.js');
  const stream = source === 'fake'
    ? await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720, frameRate: 30 } })
    : window.makeHdCamera();
  const conn = Veil.connection(ws).sendonly('uplink-bwe', null, {});
  window.conn = conn;
  await conn.connect(stream);
  window.connectedAt = performance.now();
  return true;
}

async function sampleInPage() {
  const report = await window.conn.pc.getStats();
  const out = { t: performance.now() - window.connectedAt };
  report.forEach(s => {
    // with simulcast (the SDK's default) one outbound-rtp per layer: the bytes of all, the size of the largest
    if (s.type === 'outbound-rtp' && s.kind === 'video') {
      out.bytesSent = (out.bytesSent || 0) + (s.bytesSent || 0);
      if ((s.frameWidth || 0) >= (out.width || 0)) {
        out.width = s.frameWidth || 0; out.height = s.frameHeight || 0; out.reason = s.qualityLimitationReason;
      }
      out.ts = s.timestamp;
      out.layers = (out.layers || 0) + 1;
    }
    if (s.type === 'candidate-pair' && s.nominated && s.availableOutgoingBitrate !== undefined) {
      out.estimate = s.availableOutgoingBitrate;
    }
  });
  return out;
}

before(async () => {
  server = await startServer({ config: 'e2ee = false' });
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

test('a 720p Chromium publisher reaches 1280x720 and high bitrate quickly (transport-wide feedback)', async () => {
  const page = await (await browser.newContext()).newPage();
  page.on('pageerror', e => console.error('page error:', e.message));
  await page.goto(server.base + '/');
  await page.addScriptTag({ content: cameraSource() });
  assert.equal(await page.evaluate(publishInPage, { ws: server.ws, source: SOURCE }), true);

  const samples = [];
  let reachedAt = null;
  let reachedAimAt = null;
  // sample every 250 ms (no assertion depends on the sampling moment: the bitrate is taken from the stats' own
  // timestamps over the last >= 1 s)
  for (;;) {
    const s = await page.evaluate(sampleInPage);
    samples.push(s);
    const old = samples.filter(o => o.ts !== undefined && s.ts - o.ts >= 1000).pop();
    if (old && s.bytesSent !== undefined) {
      s.kbps = Math.round((s.bytesSent - old.bytesSent) * 8 / (s.ts - old.ts));
      const hd = s.width >= 1280 && s.height >= 720;
      if (reachedAt === null && hd && s.kbps >= MIN_KBPS) reachedAt = s.t;
      if (reachedAimAt === null && hd && s.kbps >= 1500) reachedAimAt = s.t;
    }
    if (process.env.VEIL_UPLINK_TRACE && s.kbps !== undefined) console.log('trace ' + JSON.stringify(pick(s)));
    if (s.t > Math.max(OBSERVE_MS, DEADLINE_MS) || (reachedAt !== null && reachedAimAt !== null && s.t > 5000)) break;
    await new Promise(r => setTimeout(r, 250));
  }
  const at = ms => samples.filter(o => o.t <= ms && o.kbps !== undefined).pop() || {};
  const summary = {
    reachedMinMs: reachedAt === null ? null : Math.round(reachedAt),
    reached720pAnd1500kbpsMs: reachedAimAt === null ? null : Math.round(reachedAimAt),
    minKbps: MIN_KBPS,
    at5s: pick(at(5000)),
    at10s: pick(at(10000)),
    last: pick(samples[samples.length - 1]),
  };
  const metrics = await (await fetch(server.base + '/metrics')).text();
  summary.server = Object.fromEntries(metrics.split('\n').filter(l => /^veil_media_(uplink|rtcp_sent|rtp_sent|send_dropped)|^veil_router_rtp_received/.test(l))
    .map(l => l.split(' ')).map(([k, v]) => [k.replace(/^veil_media_|_total$/g, ''), Number(v)]));
  console.log('uplink-bwe ' + JSON.stringify(summary));
  if (process.env.VEIL_SHOW_SERVER_LOG) console.log(server.log());
  assert.ok(reachedAt !== null && reachedAt <= DEADLINE_MS,
    `publisher must reach 1280x720 and >= ${MIN_KBPS} kbit/s within ${DEADLINE_MS} ms: ${JSON.stringify(summary)}`);
});

function pick(s) {
  return s ? { t: Math.round(s.t || 0), w: s.width, h: s.height, kbps: s.kbps, estimateKbps: s.estimate === undefined ? undefined : Math.round(s.estimate / 1000), reason: s.reason } : null;
}
