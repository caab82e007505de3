// Downlink estimation (issue 9): the server offers subscribers the transport-wide sequence number extension and
// transport-cc on its sendonly m-lines, stamps every packet it forwards with its own sequence numbers, and estimates
// each subscriber's downlink from the transport-wide feedback Chromium sends back. This checks, with a real Chromium
// subscriber of a 720p canvas publisher through veil-server.jar: the subscriber accepts the extension, keeps
// decoding the stamped stream, its feedback reaches the server (counters in /metrics), and the server's estimate of
// its downlink (an aggregate gauge, no ids) is sane: within the estimator's bounds and not collapsed on loopback.
// One JSON line, "downlink-bwe", carries the figures.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor } from '../../test-support/helpers/server.mjs';
import { launchChromium } from '../../test-support/helpers/browser.mjs';

let server;
let browser;

/** A 640x360 canvas camera at 30 fps whose picture changes every frame. */
function cameraSource() {
  return `
  window.makeCamera = function () {
    const W = 640, H = 360;
    const canvas = document.createElement('canvas');
    canvas.width = W; canvas.height = H;
    const g = canvas.getContext('2d');
    let n = 0;
    window.__drawTimer = setInterval(() => {
      for (let i = 0; i < 24; i++) {
        g.fillStyle = 'hsl(' + ((n * 37 + i * 53) % 360) + ',80%,50%)';
        g.fillRect((n * 13 + i * 97) % W, (n * 7 + i * 61) % H, 80, 60);
      }
      n++;
    }, 33);
    return canvas.captureStream(30);
  };`;
}

async function metrics() {
  const text = await (await fetch(server.base + '/metrics')).text();
  return Object.fromEntries(text.split('\n').filter(l => /^veil_media_downlink_/.test(l))
    .map(l => l.split(' ')).map(([k, v]) => [k.replace(/^veil_media_downlink_|_total$/g, ''), Number(v)]));
}

before(async () => {
  server = await startServer({ config: 'e2ee = false' });
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

test('a Chromium subscriber gets stamped media, sends transport-wide feedback and gets a sane estimate', async () => {
  const context = await browser.newContext();
  const sender = await context.newPage();
  const receiver = await context.newPage();
  for (const page of [sender, receiver]) {
    page.on('pageerror', e => console.error('page error:', e.message));
    await page.goto(server.base + '/');
  }
  await sender.addScriptTag({ content: cameraSource() });
  await sender.evaluate(async ({ ws }) => {
    const { default: Veil } = await import('/sdk/veil.js');
    const conn = Veil.connection(ws).sendonly('downlink-bwe', null, {});
    window.veil = { conn };
    await conn.connect(window.makeCamera());
  }, { ws: server.ws });
  const offered = await receiver.evaluate(async ({ ws }) => {
    const { default: Veil } = await import('/sdk/veil.js');
    const conn = Veil.connection(ws).recvonly('downlink-bwe', null, {});
    window.veil = { conn, tracks: [] };
    conn.on('track', ev => window.veil.tracks.push(ev.track));
    await conn.connect();
    return conn.pc.remoteDescription.sdp;
  }, { ws: server.ws });
  assert.match(offered, /a=extmap:\d+ http:\/\/www\.ietf\.org\/id\/draft-holmer-rmcat-transport-wide-cc-extensions-01/);
  assert.match(offered, /a=rtcp-fb:\d+ transport-cc/);
  const answered = await receiver.evaluate(() => window.veil.conn.pc.localDescription.sdp);
  assert.match(answered, /transport-wide-cc-extensions-01/, 'Chromium accepts the extension on what it receives');

  const decoded = () => receiver.evaluate(async () => {
    let frames = 0;
    (await window.veil.conn.pc.getStats()).forEach(s => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') frames = Math.max(frames, s.framesDecoded || 0);
    });
    return frames;
  });
  await waitFor('the subscriber decodes the stamped stream', async () => (await decoded()) > 30, 30000);
  const start = Date.now();
  await waitFor('its transport-wide feedback reaches the server',
    async () => ((await metrics()).twcc_feedback_received || 0) > 10, 20000);
  const framesBefore = await decoded();
  // then a stretch of media: 500 more packets reported and 60 more frames decoded
  const reportedBefore = (await metrics()).packets_reported || 0;
  await waitFor('500 more packets reported and 60 more frames decoded', async () =>
    ((await metrics()).packets_reported || 0) > reportedBefore + 500 && (await decoded()) > framesBefore + 60, 30000);
  const m = await metrics();
  const summary = { feedbackAndStretchMs: Date.now() - start, server: m };
  console.log('downlink-bwe ' + JSON.stringify(summary));
  if (process.env.VEIL_SHOW_SERVER_LOG) console.log(server.log());
  assert.equal(m.estimators, 1, 'one subscriber transport estimated (the publisher receives nothing)');
  assert.ok(m.packets_stamped > 100, JSON.stringify(m));
  assert.ok(m.packets_reported > 100, JSON.stringify(m));
  assert.equal(m.unknown_reported, 0, 'Chromium reports only numbers the server sent');
  assert.ok(m.packets_lost <= m.packets_reported * 0.05, `little loss on loopback: ${JSON.stringify(m)}`);
  assert.ok(m.estimate_bps_sum >= 100000 && m.estimate_bps_sum <= 20000000, JSON.stringify(m));
});
