// Layer choice from the downlink estimate (issue 9), in network namespaces (netns.mjs): one 720p simulcast
// publisher, three subscribers; one subscriber's link is limited to 400 kbit/s (`lab.setRate`, both directions).
// Asserted, with E2EE off and on:
// - the constrained subscriber switches to the low layer (inbound-rtp frameWidth <= 400) within 30 s of the limit
//   (the switch latency is printed as the "netlab-layers" line and recorded in docs/BENCHMARKS.md);
// - it keeps decoding: no stall over 1 s (VEIL_NETLAB_MAX_STALL_MS) in the 4 s after the switch, from its getStats
//   samples (every 200 ms; durations from the stats' own timestamps), and Chromium's own totalFreezesDuration over
//   those 4 s stays under twice that — beyond what the two unconstrained subscribers observed over the same 4 s show
//   (the worse of them; plus the stall measurement's uncertainty, the longest sampling interval actually taken)
//   (on the shared 2-core machine every browser stalls for want of CPU at times: that is not the switch's doing);
// - its SDK stats (conn.getStats().downlink, from the server's downlink-stats) show an estimate, the low layer and
//   the switch, and the top layer again once the limit is lifted; Before a step up the server probes with padding on the subscriber's RTX stream; on the
//   still-limited link the probes fail and the layer stays low (the whole limited window's longest stall and the
//   probe counters are printed);
// - the two unconstrained subscribers have the high layer while the constrained one is limited;
// - lifting the limit brings the constrained one back to the high layer within 90 s (the time it took is printed;
//   52.7 s in a starved run whose probes mostly failed).
// "The high layer" is the publisher's top layer as it sends it at that moment (its own getStats: width capped at
// 1000, and above the low layer): on a CPU-starved machine Chromium pauses its top layer for seconds (its send-side
// estimate, "bandwidth") or scales it (960x540), and the server's estimate of an unconstrained subscriber sees
// scheduling delay as congestion now and then and holds it lower for a few seconds. So each "has the high layer" is
// waited for (each sample against the top layer of that moment), never read at one instant.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../test-support/helpers/server.mjs';
import { openCall, observe, inboundInPage, decodeSummary } from '../../test-support/browser/netlab-pages.mjs';

const MAX_STALL_MS = Number(process.env.VEIL_NETLAB_MAX_STALL_MS || 1000);
let server;
let e2eeServer;

before(async () => {
  server = await startServer({ config: 'e2ee = false' });
});

after(async () => {
  if (server) await server.stop();
  if (e2eeServer) await e2eeServer.stop();
});

const sleep = ms => new Promise(r => setTimeout(r, ms));

/** Samples `page` every 200 ms until `done(sample)` (may be async) or `ms` pass (by the stats' clock); returns the samples. */
async function sampleUntil(page, ms, done) {
  const samples = [await page.evaluate(inboundInPage)];
  while (!(await done(samples[samples.length - 1])) && samples[samples.length - 1].ts - samples[0].ts < ms) {
    await sleep(200);
    samples.push(await page.evaluate(inboundInPage));
    if (process.env.VEIL_NETLAB_TRACE) console.log(`trace ${JSON.stringify(samples[samples.length - 1])}`);
  }
  return samples;
}

/**
 * Runs in the page: the largest outbound video layer the publisher sends now (simulcast: one outbound-rtp per layer;
 * Chromium reports frameWidth 0 for a layer it has paused) and its index among the layers (q, h, f: 0, 1, 2).
 */
async function largestLayerInPage() {
  const report = await window.netlab.conn.pc.getStats();
  let out = { width: 0, height: 0, index: -1 };
  report.forEach(s => {
    if (s.type === 'outbound-rtp' && s.kind === 'video' && (s.frameWidth || 0) > out.width) {
      out = { width: s.frameWidth, height: s.frameHeight, index: ['q', 'h', 'f'].indexOf(s.rid) };
    }
  });
  return out;
}

async function counters(srv) {
  return (await (await fetch(srv.base + '/health')).json()).counters;
}

async function layersTest(t, srv, e2ee) {
  const lab = srv.lab;
  const call = await openCall(srv, { channel: `netlab-layers-${e2ee ? 'e2ee' : 'plain'}`, subscribers: 3,
    camera: { width: 1280, height: 720, fps: 30 }, options: e2ee ? { e2ee: true, keyMode: 'sender-keys' } : {} });
  const [weak, ...others] = call.subs;
  try {
    // the publisher ramps up and every subscriber gets the top layer first
    let pubOut;
    const rampEnd = Date.now() + 20000;
    do {
      await sleep(500);
      pubOut = await call.pub.page.evaluate(largestLayerInPage);
    } while (pubOut.width < 1280 && Date.now() < rampEnd);
    // "the high layer": 1280x720, or whatever the publisher's top layer is now — on a loaded 2-core machine its
    // encoder adapts the resolution to the CPU (960x540 at load average 25+), which no server can change
    const topWidth = async () => Math.min(1000, (await call.pub.page.evaluate(largestLayerInPage)).width);
    // a subscriber "has the high layer" when it decodes the publisher's top layer as sent at that moment (above the
    // low one). On a CPU-starved machine the publisher pauses its top layer for seconds at a time (its own estimate,
    // "bandwidth") and the server's estimate of an unconstrained subscriber sees delay as congestion now and then,
    // holding it lower for a few seconds: both come back, so this is waited for (60 s), each sample against the top
    // layer of that moment, not checked at one instant.
    const untilHigh = async (page, ms) => {
      let top = 0;
      const got = await sampleUntil(page, ms, async x => x.width >= (top = await topWidth()) && top > 400);
      return { at: got[got.length - 1], top, samples: got };
    };
    for (const [i, s] of call.subs.entries()) {
      const { at, top } = await untilHigh(s.page, 60000);
      if (at.width < top && process.env.VEIL_SHOW_SERVER_LOG) console.log(srv.log());
      assert.ok(at.width >= top && top > 400, `subscriber ${i} must get the high layer before the limit: ${JSON.stringify(at)} (top layer ${top} wide) ${JSON.stringify(Object.fromEntries(Object.entries(await counters(srv)).filter(([k]) => k.startsWith('media.downlink'))))}`);
    }
    const srv0 = await counters(srv);

    const before = await weak.page.evaluate(inboundInPage);
    await lab.setRate(weak.browser, 400, { direction: 'both' });
    const toLow = await sampleUntil(weak.page, 30000, x => x.width > 0 && x.width <= 400);
    const atLow = toLow[toLow.length - 1];
    assert.ok(atLow.width <= 400, `the constrained subscriber must switch to the low layer within 30 s: ${JSON.stringify(atLow)}`);
    const switchMs = Math.round(atLow.ts - before.ts);
    // the 4 s after the switch, with both unconstrained subscribers observed at the same time as controls: on this
    // shared 2-core machine every browser stalls now and then for want of CPU, which is not the switch's doing (the
    // control is the worse of the two: one subscriber's longest stall is a single draw of the machine's noise)
    const [afterObs, ...controlObs] = await Promise.all([observe(weak.page, 4000, 'after-switch'),
      ...others.map((o, i) => observe(o.page, 4000, `control${i}`))]);
    const afterSwitch = [atLow, ...afterObs.slice(1)];
    const afterSwitchSummary = decodeSummary(afterSwitch);
    const controls = controlObs.map(decodeSummary);
    const controlSummary = controls.reduce((a, b) => (b.longestStallMs > a.longestStallMs ? b : a));
    const controlFreezeSeconds = Math.max(...controls.map(c => c.freezeSeconds));
    // a stall measured from samples is an upper bound by at most one sampling interval: the longest one actually
    // taken between two of the constrained subscriber's samples (200 ms asked; a starved page answers later)
    let samplingMs = 0;
    for (let i = 1; i < afterSwitch.length; i++) samplingMs = Math.max(samplingMs, afterSwitch[i].ts - afterSwitch[i - 1].ts);
    samplingMs = Math.round(samplingMs);
    // the SDK's view of the server's downlink stats (downlink-stats, about once a second)
    const dlLow = await weak.page.evaluate(async () => (await window.netlab.conn.getStats()).downlink);
    const restLimited = await observe(weak.page, 3000, 'limited');
    const limitedAll = decodeSummary([...toLow, ...afterSwitch.slice(1), ...restLimited.slice(1)]);
    // the others have the high layer while the weak one is still limited (waited for as before the limit: a starved
    // run held one at the middle layer for over 30 s — its own estimate saw CPU delay as congestion and 19 of 20
    // padding probes failed — before it stepped up again)
    const othersNow = [];
    for (const s of others) othersNow.push(await untilHigh(s.page, 60000));
    const stillLow = await weak.page.evaluate(inboundInPage);
    const srv1 = await counters(srv);

    const liftedAt = stillLow;
    await lab.clear(weak.browser);
    const { at: backAt, top: backHigh } = await untilHigh(weak.page, 90000);
    // the SDK's downlink stats report the top layer too, the publisher's top layer as sent at that moment (reports
    // come about once a second; a loaded machine may already have moved it again by the time one is read, so the
    // first report showing it within 10 s counts)
    let dlBack = null;
    let topIndex = -1;
    for (const end = Date.now() + 10000; Date.now() < end;) {
      dlBack = await weak.page.evaluate(async () => (await window.netlab.conn.getStats()).downlink);
      topIndex = (await call.pub.page.evaluate(largestLayerInPage)).index;
      if (dlBack && dlBack.tracks.length && dlBack.tracks[0].layer === topIndex && topIndex > 0) break;
      await sleep(250);
    }
    const delta = k => (srv1[k] || 0) - (srv0[k] || 0);
    const summary = {
      e2ee, publisher: `${pubOut.width}x${pubOut.height}`,
      switchToLowMs: switchMs, lowResolution: `${atLow.width}x${atLow.height}`,
      afterSwitch: afterSwitchSummary, controlSameWindow: controlSummary, controlFreezeSeconds, samplingMs, wholeLimitedWindow: limitedAll,
      sdkDownlinkAtLow: dlLow, sdkDownlinkBack: dlBack,
      others: othersNow.map(o => `${o.at.width}x${o.at.height} (top ${o.top})`), stillLow: `${stillLow.width}x${stillLow.height}`,
      backUpMs: Math.round(backAt.ts - liftedAt.ts), backResolution: `${backAt.width}x${backAt.height}`,
      server: { downgrades: delta('media.downlink.layer_downgrades'), upgrades: delta('media.downlink.layer_upgrades'),
        probes: delta('media.downlink.probes_started'), probesConfirmed: delta('media.downlink.probes_confirmed'),
        probesFailed: delta('media.downlink.probes_failed'), probesSpoiled: delta('media.downlink.probes_spoiled'),
        probePackets: delta('media.downlink.probe_packets'),
        trials: delta('media.downlink.step_trials'),
        estimateMinKbps: Math.round((srv1['gauge.media.downlink.estimate_bps_min'] || 0) / 1000) },
    };
    console.log('netlab-layers ' + JSON.stringify(summary));
    if (process.env.VEIL_SHOW_SERVER_LOG) console.log(srv.log().split('\n').filter(l => /layers|probe/.test(l)).join('\n'));
    t.diagnostic(JSON.stringify(summary));

    assert.ok(afterSwitchSummary.frames > 0,
      `the constrained subscriber must keep decoding after the switch: ${JSON.stringify(summary)}`);
    // issue 9's aim: no freeze over 1 s after the switch (sampled frame counts, and Chromium's own freeze stats); a
    // stall the unconstrained control subscribers had as well in the same window (the machine, not the link) is
    // allowed on top, plus the measurement's own uncertainty (one sampling interval as taken)
    const stallBound = Math.max(MAX_STALL_MS, controlSummary.longestStallMs + Math.max(200, samplingMs));
    assert.ok(afterSwitchSummary.longestStallMs <= stallBound,
      `no stall over ${stallBound} ms after the switch: ${JSON.stringify(summary)}`);
    // (Chromium's totalFreezesDuration sums every freeze in the window, however short: bounded at twice the aim)
    const freezeBound = 2 * MAX_STALL_MS + controlFreezeSeconds * 1000;
    assert.ok(afterSwitchSummary.freezeSeconds * 1000 <= freezeBound,
      `Chromium's freeze time after the switch stays under ${freezeBound} ms: ${JSON.stringify(summary)}`);
    // the SDK's stats carry the server's view: an estimate, the low layer and the switch to it; later the top layer
    assert.ok(dlLow && dlLow.estimateBps > 0, `downlink stats with an estimate: ${JSON.stringify(dlLow)}`);
    assert.equal(dlLow.tracks.length, 1, JSON.stringify(dlLow));
    assert.equal(dlLow.tracks[0].layer, 0, `the server reports the low layer: ${JSON.stringify(dlLow)}`);
    assert.ok(dlLow.tracks[0].switches >= 1 && dlLow.tracks[0].plisSent >= 1, JSON.stringify(dlLow));
    assert.ok(dlBack.tracks[0].layer === topIndex && topIndex > 0,
      `and the top layer (${topIndex}) once the limit is lifted: ${JSON.stringify(dlBack)}`);
    for (const o of othersNow) {
      assert.ok(o.at.width >= o.top && o.top > 400, `the unconstrained subscribers must keep the high layer: ${JSON.stringify(summary)}`);
    }
    assert.ok(backAt.width >= backHigh && backHigh > 400, `lifting the limit must bring the high layer (${backHigh} wide) back within 90 s: ${JSON.stringify(summary)}`);
    if (e2ee) {
      // (every member has an E2EE identity: the subscriber holds the publisher's and the two other subscribers')
      const pubId = await call.pub.page.evaluate(() => window.netlab.conn.connectionId);
      const remote = await weak.page.evaluate(() => Object.keys(window.netlab.conn.e2eeRemoteFingerprints));
      assert.ok(remote.includes(pubId), `the subscriber holds the publisher's E2EE identity: ${JSON.stringify(remote)}`);
    }
  } finally {
    await call.close();
  }
}

test('a subscriber limited to 400 kbit/s gets the low layer and keeps decoding; the others keep the high one', t => layersTest(t, server, false));

test('the same with E2EE on', async t => {
  e2eeServer = await startServer({ config: 'e2ee = true', lab: server.lab });
  await layersTest(t, e2eeServer, true);
});
