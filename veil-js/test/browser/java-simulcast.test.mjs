// Simulcast from a browser to the Java SDK (issue 9) in headless Chromium against a real veil-server.jar: a Chromium
// page publishes a 1280x720 camera (the browser SDK sends three simulcast layers for camera video) and the Java
// SDK's example participant Echo subscribes with `--max-height 200` (Connection.setReceiveMaxHeight: the same
// `receive` message the browser SDK sends). Echo reassembles the forwarded VP8 frames and prints each key frame's
// size: it gets the low layer while the publisher sends a higher one too (compared with the publisher's own
// getStats() at that moment) and stays on it (the server may start the track on another layer before it has seen
// the layers' key frames), then, told `max-height 0` on its standard input, a layer above the low one at a key
// frame of it (at most the top layer the publisher sends at that moment: a CPU-starved Chromium may pause its top
// layer). Echo answers without congestion feedback, so the limit alone picks its layer. Echo's receive stats
// (Connection.receiveStats) count the frames it got. E2EE is irrelevant here: plain.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor } from '../../test-support/helpers/server.mjs';
import { launchChromium, syntheticStreamSource } from '../../test-support/helpers/browser.mjs';
import { spawnEcho, stopAllAndCheck } from '../../test-support/helpers/java.mjs';

const CHANNEL = 'java-simulcast';
let server;
let browser;
let echo;

before(async () => {
  server = await startServer({});
  browser = await launchChromium();
});

after(() => stopAllAndCheck({ echoes: [echo], browser, server }));

/** In-page: publishes a 1280x720 camera (simulcast is the SDK's default for camera video), plain. */
async function publishInPage({ ws, channel }) {
  const { default: Veil } = await import('/sdk/veil.js');
  const stream = window.makeSyntheticStream([30, 90, 160], 440);
  stream.getVideoTracks()[0].contentHint = 'detail'; // under CPU load drop frames rather than pixels
  const conn = Veil.connection(ws).sendonly(channel, null, { e2ee: false });
  window.conn = conn;
  await conn.connect(stream);
  return conn.connectionId;
}

/** In-page: the heights of the publisher's layers sending now (0 for a paused one), by rid. */
async function sentHeightsInPage() {
  const report = await window.conn.pc.getStats();
  const out = {};
  report.forEach(s => {
    if (s.type === 'outbound-rtp' && s.kind === 'video') out[s.rid || '-'] = s.frameHeight || 0;
  });
  return out;
}

async function metric(name) {
  const text = await (await fetch(server.base + '/metrics')).text();
  const line = text.split('\n').find(l => l.startsWith(name + ' '));
  return line ? Number(line.split(' ')[1]) : null;
}

test('a Java subscriber limited to 200 px gets the low layer of a Chromium simulcast, then a higher one when it '
  + 'lifts the limit', { timeout: 240000 }, async t => {
  const t0 = Date.now();
  // without congestion feedback the server picks Echo's layer from the limit alone: with it, the server's downlink
  // estimate of a subscriber on this loaded box held Echo on the low layer for 59 s after the limit was lifted
  echo = await spawnEcho({ ws: server.ws, channel: CHANNEL, plain: true, maxHeight: 200, noFeedback: true });
  const failWithOutput = e => { throw new Error(`${e.message}\n${echo.output()}`); };
  await waitFor('Echo connected', () => echo.state.id || (echo.state.exitCode !== null
    ? Promise.reject(new Error(`Echo exited with ${echo.state.exitCode}`)) : null), 70000).catch(failWithOutput);
  const echoUpMs = Date.now() - t0;

  const context = await browser.newContext();
  const pub = await context.newPage();
  pub.on('pageerror', e => console.error('page error:', e.message));
  await pub.goto(server.base + '/');
  await pub.addScriptTag({ content: syntheticStreamSource({ width: 1280, height: 720, fps: 30, step: 9 }) });
  const pubId = await pub.evaluate(publishInPage, { ws: server.ws, channel: CHANNEL });
  const keysOf = from => echo.state.videoKeys.slice(from).filter(k => k.from === pubId);

  // the low layer, while the publisher sends a layer above the limit too (so the limit is what chose it)
  const low = await waitFor('Echo gets the low layer while a higher one is sent', async () => {
    const k = keysOf(0).filter(x => x.h > 0 && x.h <= 200).pop();
    if (!k) return null;
    const sent = await pub.evaluate(sentHeightsInPage);
    return Math.max(0, ...Object.values(sent)) > 200 ? { key: k, sent } : null;
  }, 60000, 250).catch(failWithOutput);
  const lowMs = Date.now() - t0;
  // (the server may start a new track on another layer before it has seen the layers' key frames; once on the low
  // one, it stays there while the limit holds)
  const firstLow = echo.state.videoKeys.findIndex(k => k.from === pubId && k.h <= 200);

  // lifted: a key frame of a higher layer, no higher than what the publisher sends at that moment
  const mark = echo.state.videoKeys.length;
  assert.ok(keysOf(firstLow).every(k => k.h <= 200), `nothing above the limit: ${JSON.stringify(keysOf(0))}`);
  const t1 = Date.now();
  echo.command('max-height 0');
  const high = await waitFor('Echo switches to a higher layer', async () => {
    const k = keysOf(mark).filter(x => x.h > 200).pop();
    if (!k) return null;
    const sent = await pub.evaluate(sentHeightsInPage);
    return { key: k, top: Math.max(0, ...Object.values(sent)) };
  }, 100000, 250).catch(failWithOutput); // (0.3-2.4 s mostly; 52 s once at load 26, the publisher's top layer paused)
  const upMs = Date.now() - t1;
  assert.ok(high.key.h > low.key.h, `higher than the low layer: ${JSON.stringify({ low, high })}`);
  assert.ok(high.key.h <= 720, `at most the top layer: ${JSON.stringify(high)}`);
  const known = await metric('veil_router_simulcast_layers_known_total');
  assert.ok(known >= 2, `the server knows the layers it forwarded: ${known}`);

  // Echo's own receive stats count the frames it got
  const stats = await waitFor('Echo reports its receive stats', () => {
    const s = echo.state.receiveStats;
    // (the synthetic picture's frames are small: often one packet each, like an audio frame)
    return s && s.framesDelivered > 50 && s.packetsReceived >= s.framesDelivered
      && s.bytesReceived > 12 * s.packetsReceived ? s : null;
  }, 30000, 250).catch(failWithOutput);
  assert.equal(echo.state.disconnected, null);

  await pub.evaluate(() => window.conn.disconnect());
  await context.close();
  t.diagnostic(`Echo up ${echoUpMs} ms; low layer ${low.key.w}x${low.key.h} after ${lowMs} ms `
    + `(publisher sent ${JSON.stringify(low.sent)}); layers known ${known}; `
    + `up to ${high.key.w}x${high.key.h} ${upMs} ms after lifting (top sent then ${high.top}); Echo stats `
    + JSON.stringify(stats));
});
