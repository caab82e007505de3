// Simulcast (issue 9) in headless Chromium against a real veil-server.jar, with E2EE off and on. The server offers
// publishers' video a=rid:q/h/f recv + a=simulcast:recv (Chromium answers as simulcast sender: one encoding per rid);
// the SDK gives the encodings 1/4, 1/2 and full resolution. One publisher sends a 1280x720 camera; the test checks
// from its getStats() that three layers go out (outbound-rtp per rid, three sizes) and from /metrics that the server
// learned the three layers' SSRCs. Two subscribers then decode it: one asks for at most 200 pixels high
// (receive_max_height: the server picks the layer from the sizes its key frames announce) and gets the low layer
// (frameWidth <= 400), the other asks for nothing and gets the top one — the widest layer the publisher sends at that
// moment by its own getStats(), and above the low one (1280 wide unless the publisher paused its top layer: on a
// CPU-starved machine Chromium's send-side estimate sees scheduling delay as congestion and pauses it for seconds,
// "bandwidth"; the server's estimate of a subscriber can likewise hold it lower for a few seconds, so the top layer
// is waited for, each sample against the publisher's layers of that moment); both keep decoding (framesDecoded grows). With E2EE every layer's frames are encrypted by the publisher's worker; the server reads
// only the clear VP8 prefix (key-frame flag and size).
//
// Then each subscriber changes its limit live (`receive` messages): both switch layer at a key frame and decode on
// (the JSON line gives the switch time, the longest gap between rendered frames and the packets lost; the one going
// up gets the top layer as above, the one going down never exceeds its limit). A last test
// checks {simulcast: false}: one stream, forwarded as before.
//
// One JSON line per mode, "simulcast", carries the figures (layer sizes and bitrates, time to first frame).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor } from '../../test-support/helpers/server.mjs';
import { launchChromium, syntheticStreamSource } from '../../test-support/helpers/browser.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({ config: 'e2ee = true' });
  browser = await launchChromium();
});

after(async () => {
  if (process.env.VEIL_SIMULCAST_TRACE && server) {
    console.log(server.log().split('\n').filter(l => /layers|congestion/.test(l)).join('\n'));
    console.log((await (await fetch(server.base + '/metrics')).text()).split('\n').filter(l => /uplink|downlink/.test(l)).join('\n'));
  }
  if (browser) await browser.close();
  if (server) await server.stop();
});

async function newPage() {
  const page = await (await browser.newContext()).newPage();
  page.on('pageerror', e => console.error('page error:', e.message));
  await page.goto(server.base + '/');
  await page.addScriptTag({ content: syntheticStreamSource({ width: 1280, height: 720, fps: 30, step: 9 }) });
  return page;
}

/** In-page: publishes a 1280x720 camera (simulcast is the SDK's default for camera video). */
async function publishInPage({ ws, channel, e2ee, simulcast }) {
  const { default: Veil } = await import('/sdk/veil.js');
  if (e2ee) await Veil.initE2EE();
  // a simple picture (a colour and a moving bar): cheap to draw and encode on this shared 2-core box; a picture that
  // needs real bitrate (uplink-bwe.test.mjs's noise) starves the CPU here and Chromium then pauses its top layers
  const stream = window.makeSyntheticStream([30, 90, 160], 440);
  // keep the resolution under CPU load (this box is shared): drop frames rather than pixels
  stream.getVideoTracks()[0].contentHint = 'detail';
  const options = { e2ee, ...(e2ee ? { keyMode: 'sender-keys' } : {}), keepKeysForTesting: true };
  if (simulcast === false) options.simulcast = false;
  const conn = Veil.connection(ws).sendonly(channel, null, options);
  window.conn = conn;
  await conn.connect(stream);
  return conn.connectionId;
}

/** In-page: the publisher's outbound video per rid. */
async function outboundInPage() {
  const report = await window.conn.pc.getStats();
  const out = {};
  report.forEach(s => {
    if (s.type === 'outbound-rtp' && s.kind === 'video') {
      out[s.rid || '-'] = { w: s.frameWidth || 0, h: s.frameHeight || 0, bytes: s.bytesSent || 0,
        frames: s.framesEncoded || 0, ts: s.timestamp, reason: s.qualityLimitationReason, active: s.active };
    }
  });
  const enc = window.conn.pc.getSenders().filter(x => x.track && x.track.kind === 'video')
    .map(x => x.getParameters().encodings.map(e => ({ rid: e.rid, scale: e.scaleResolutionDownBy, max: e.maxBitrate })))[0];
  return { out, enc };
}

/** In-page: subscribes and records the remote video. */
async function subscribeInPage({ ws, channel, e2ee, receiveMaxHeight }) {
  const { default: Veil } = await import('/sdk/veil.js');
  if (e2ee) await Veil.initE2EE();
  const options = { e2ee, ...(e2ee ? { keyMode: 'sender-keys' } : {}), keepKeysForTesting: true };
  if (receiveMaxHeight) options.receiveMaxHeight = receiveMaxHeight;
  const conn = Veil.connection(ws).recvonly(channel, null, options);
  window.conn = conn;
  window.t0 = performance.now();
  conn.on('track', ev => {
    if (ev.track.kind !== 'video') return;
    window.videoTrack = ev.track;
    window.frameTimes = [];
    const v = document.createElement('video');
    v.muted = true; v.autoplay = true; v.playsInline = true;
    v.srcObject = new MediaStream([ev.track]);
    document.body.appendChild(v);
    const onFrame = () => {
      if (window.firstFrameMs === undefined) window.firstFrameMs = performance.now() - window.t0;
      window.frameTimes.push(performance.now());
      if (window.frameTimes.length > 3000) window.frameTimes.splice(0, 1000);
      v.requestVideoFrameCallback(onFrame);
    };
    v.requestVideoFrameCallback(onFrame);
    v.play().catch(() => {});
  });
  await conn.connect(null);
  return conn.connectionId;
}

/** In-page: the subscriber's inbound video. */
async function inboundInPage() {
  const report = await window.conn.pc.getStats();
  let v = null;
  report.forEach(s => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') {
      v = { w: s.frameWidth || 0, h: s.frameHeight || 0, decoded: s.framesDecoded || 0, plis: s.pliCount || 0,
        lost: s.packetsLost || 0, firstFrameMs: window.firstFrameMs };
    }
  });
  return v;
}

/** In-page: asks for another height (for this page's remote video track when `perTrack`); returns the time. */
function setMaxHeightInPage({ h, perTrack }) {
  window.conn.setReceiveMaxHeight(h, perTrack ? window.videoTrack : undefined);
  window.switchAsked = performance.now();
  return true;
}

/** In-page: the longest gap between rendered frames since the switch was asked for, in ms. */
function longestGapSinceSwitchInPage() {
  const t = window.frameTimes.filter(x => x >= window.switchAsked);
  let gap = t.length ? t[0] - window.switchAsked : Infinity;
  for (let i = 1; i < t.length; i++) gap = Math.max(gap, t[i] - t[i - 1]);
  return Math.round(gap);
}

async function metric(name) {
  const text = await (await fetch(server.base + '/metrics')).text();
  const line = text.split('\n').find(l => l.startsWith(name + ' '));
  return line ? Number(line.split(' ')[1]) : null;
}

/**
 * The widest layer the publisher sends now, from its own getStats(): Chromium reports frameWidth 0 for a layer it
 * has paused (on a CPU-starved machine its send-side estimate drops for seconds at a time and it pauses the top
 * layers: "bandwidth"), so "the top layer" is whatever the publisher is actually sending at that moment.
 */
async function topSentWidth(pub) {
  const { out } = await pub.evaluate(outboundInPage);
  return Math.max(0, ...Object.values(out).map(o => o.w));
}

/**
 * Polls `page`'s inbound video until it decodes the top layer the publisher sends at that moment and that layer is
 * not the low one (> 400 wide), with `extra(v)` also true. The server's own estimate may hold a subscriber lower
 * for a while (delay under CPU load looks like congestion); it must get the top layer back within the wait. (At load
 * average 20+ with two busy loops a publisher sent its low layer alone for 80 s: hence 120 s.)
 */
function waitForTopLayer(what, page, pub, extra = () => true, timeoutMs = 120000) {
  return waitFor(what, async () => {
    const v = await page.evaluate(inboundInPage);
    if (!v || !(v.w > 400) || !extra(v)) return null;
    const top = await topSentWidth(pub);
    if (process.env.VEIL_SIMULCAST_TRACE) console.log(`trace ${what}: ${JSON.stringify(v)} top ${top}`);
    return v.w >= top ? { ...v, top } : null;
  }, timeoutMs, 250);
}

for (const e2ee of [false, true]) {
  test(`a 720p publisher sends three layers; a low and a high subscriber decode different ones (e2ee ${e2ee})`,
    { timeout: 900000 }, async () => {
      const channel = e2ee ? 'simulcast-e2ee' : 'simulcast-plain';
      const pages = [];
      try {
        const pub = await newPage();
        pages.push(pub);
        await pub.evaluate(publishInPage, { ws: server.ws, channel, e2ee });
        const t0 = Date.now();

        // the three layers go out at three sizes (the top one needs Chromium's estimate to grow: allow time). Each
        // layer's size is the one it was last seen sending at: a CPU-starved publisher's estimate can pause its top
        // layers again right after they start, so the three need not be seen in the same sample.
        const seen = {};
        const sent = await waitFor('three simulcast layers at three sizes', async () => {
          const { out, enc } = await pub.evaluate(outboundInPage);
          if (process.env.VEIL_SIMULCAST_TRACE) console.log(`trace ${Date.now() - t0} ${JSON.stringify(out)}`);
          const rids = ['q', 'h', 'f'];
          for (const r of rids) if (out[r] && out[r].w > 0 && out[r].frames > 0) seen[r] = { w: out[r].w, h: out[r].h };
          if (!rids.every(r => seen[r])) return null;
          if (!(seen.q.w < seen.h.w && seen.h.w < seen.f.w)) return null;
          return { out, enc, seen };
        }, 120000, 250);
        const threeLayersMs = Date.now() - t0;
        assert.deepEqual(sent.enc.map(e => e.rid), ['q', 'h', 'f']);
        assert.deepEqual(sent.enc.map(e => e.scale), [4, 2, 1]);
        assert.ok(sent.seen.f.w >= 1000, `top layer at full size: ${JSON.stringify(sent.seen)}`);
        assert.ok(sent.seen.q.w <= 400, `low layer at a quarter: ${JSON.stringify(sent.seen)}`);
        // the server learned each layer's SSRC from its RID
        await waitFor('the server knows three layers', async () => (await metric('veil_router_simulcast_layers_known_total')) === 3,
          20000, 200);

        const phases = { threeLayers: Date.now() - t0 };
        const low = await newPage();
        pages.push(low);
        const high = await newPage();
        pages.push(high);
        await low.evaluate(subscribeInPage, { ws: server.ws, channel, e2ee, receiveMaxHeight: 200 });
        await high.evaluate(subscribeInPage, { ws: server.ws, channel, e2ee });

        const lowFirst = await waitFor('the low subscriber decodes the low layer', async () => {
          const v = await low.evaluate(inboundInPage);
          return v && v.decoded > 10 && v.w > 0 && v.w <= 400 ? v : null;
        }, 60000, 250);
        phases.lowDecodes = Date.now() - t0;
        // the unconstrained one: the top layer the publisher sends (1280 wide unless a starved publisher paused it)
        const highFirst = await waitForTopLayer('the high subscriber decodes the top layer', high, pub, v => v.decoded > 10);
        phases.highDecodes = Date.now() - t0;
        // both keep decoding, each at its own size (the low one never above its limit)
        const lowLater = await waitFor('the low subscriber keeps decoding', async () => {
          const v = await low.evaluate(inboundInPage);
          return v && v.decoded >= lowFirst.decoded + 30 ? v : null;
        }, 30000, 250);
        const highLater = await waitForTopLayer('the high subscriber keeps decoding the top layer', high, pub,
          v => v.decoded >= highFirst.decoded + 30);
        phases.bothKeepDecoding = Date.now() - t0;
        assert.ok(lowLater.w <= 400, `low stays low: ${JSON.stringify(lowLater)}`);

        // live switches on signaling: the low one asks for no limit (up to the top layer), the high one for its track
        // at most 200 pixels high (down to the low layer); each switches at a key frame and keeps decoding
        const t1 = Date.now();
        await low.evaluate(setMaxHeightInPage, { h: 0, perTrack: false });
        await high.evaluate(setMaxHeightInPage, { h: 200, perTrack: true });
        const lowUp = await waitForTopLayer('the low subscriber switches up', low, pub);
        const upMs = Date.now() - t1;
        const highDown = await waitFor('the high subscriber switches down', async () => {
          const v = await high.evaluate(inboundInPage);
          return v && v.w > 0 && v.w <= 400 ? v : null;
        }, 60000, 100);
        const downMs = Date.now() - t1;
        const lowAfter = await waitForTopLayer('the low subscriber decodes the top layer on after its switch', low, pub,
          v => v.decoded >= lowUp.decoded + 30);
        const highAfter = await waitFor('the high subscriber decodes on after its switch', async () => {
          const v = await high.evaluate(inboundInPage);
          return v && v.decoded >= highDown.decoded + 30 ? v : null;
        }, 30000, 250);
        assert.ok(highAfter.w <= 400, `the high one stays at its new limit: ${JSON.stringify(highAfter)}`);
        const gaps = { up: await low.evaluate(longestGapSinceSwitchInPage), down: await high.evaluate(longestGapSinceSwitchInPage) };

        const { out: after } = await pub.evaluate(outboundInPage);
        const kbps = {};
        for (const r of ['q', 'h', 'f']) {
          kbps[r] = Math.round((after[r].bytes - sent.out[r].bytes) * 8 / Math.max(1, after[r].ts - sent.out[r].ts));
        }
        console.log('simulcast ' + JSON.stringify({
          e2ee,
          threeLayersMs,
          phases,
          layers: Object.fromEntries(['q', 'h', 'f'].map(r => [r, `${after[r].w}x${after[r].h}`])),
          layerKbps: kbps,
          low: { size: `${lowLater.w}x${lowLater.h}`, firstFrameMs: Math.round(lowLater.firstFrameMs || -1), decoded: lowLater.decoded },
          high: { size: `${highLater.w}x${highLater.h}`, topSent: highLater.top, firstFrameMs: Math.round(highLater.firstFrameMs || -1), decoded: highLater.decoded },
          switches: await metric('veil_router_simulcast_layer_switches_total'),
          liveSwitch: { upMs, downMs, upTo: `${lowAfter.w}x${lowAfter.h}`, longestFrameGapMs: gaps, lostLow: lowAfter.lost, lostHigh: highAfter.lost },
        }));
      } finally {
        // (a failed run must not leave its publisher's layers known to the server for the next test)
        for (const p of pages.reverse()) {
          await p.evaluate(() => window.conn && window.conn.disconnect()).catch(() => {});
          await p.context().close().catch(() => {});
        }
      }
    });
}

test('{simulcast: false} sends one layer, which the server forwards as a plain stream', { timeout: 120000 }, async () => {
  const pub = await newPage();
  await pub.evaluate(publishInPage, { ws: server.ws, channel: 'simulcast-off', e2ee: false, simulcast: false });
  const sent = await waitFor('one video stream at full size', async () => {
    const { out, enc } = await pub.evaluate(outboundInPage);
    const streams = Object.values(out);
    return streams.length === 1 && streams[0].w >= 1000 ? { out, enc } : null;
  }, 60000, 250);
  assert.equal(sent.enc.length, 1);
  assert.equal(sent.enc[0].rid, undefined, 'no rid: not simulcast');
  assert.equal(await metric('veil_router_simulcast_layers_known_total'), 0);
  const sub = await newPage();
  await sub.evaluate(subscribeInPage, { ws: server.ws, channel: 'simulcast-off', e2ee: false, receiveMaxHeight: 200 });
  const v = await waitFor('the subscriber decodes the one stream (a height limit cannot lower it)', async () => {
    const x = await sub.evaluate(inboundInPage);
    return x && x.decoded > 10 && x.w >= 1000 ? x : null;
  }, 60000, 250);
  console.log('simulcast-off ' + JSON.stringify({ sent: Object.values(sent.out)[0].w, received: `${v.w}x${v.h}` }));
  for (const p of [sub, pub]) {
    await p.evaluate(() => window.conn.disconnect());
    await p.context().close();
  }
});
