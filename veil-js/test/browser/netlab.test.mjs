// Browser calls over shaped links (issue 9): each Chromium runs in a network namespace of its own (netns.mjs), so
// the lab can degrade one browser's path alone — `lab.setLoss(browser, fraction)` (iptables statistic drop on the
// way toward it), `lab.setRate(browser, kbit)` (tc tbf on its veth ends), `lab.clear(browser)` — and read what the
// kernel did (`lab.counters(browser)`: veth tx, the tbf's counters, the loss rule's drops).
//
// 1. 5% random loss toward a subscriber: its video keeps decoding (no stall over 1 s in its getStats samples) and the
//    repair is visible: it sends NACKs, the server retransmits from its cache, and most dropped packets are not lost.
//    With E2EE off and on (on: every decoded frame was decrypted in the subscriber's worker).
// 2. A subscriber limited to 400 kbit/s while one publisher sends 720p: a MEASUREMENT (written before the server
//    chose layers from the downlink estimate, when the subscriber froze for the whole window), printed as the
//    "netlab-400k" line and recorded in docs/BENCHMARKS.md; only the lab's own facts are asserted (the shaped veth
//    carried the media and held the rate). The assertion of issue 9 (three subscribers, the constrained one moved to
//    the low layer by its downlink estimate) is netlab-layers.test.mjs.
//
// Samples are taken every 200 ms; every duration is taken from the stats' own timestamps. VEIL_NETLAB_MAX_STALL_MS
// (default 1000) bounds the longest stall under loss; VEIL_NETLAB_TRACE=1 prints every sample.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../test-support/helpers/server.mjs';
import { openCall, observe, outboundInPage, decodeSummary } from '../../test-support/browser/netlab-pages.mjs';

const MAX_STALL_MS = Number(process.env.VEIL_NETLAB_MAX_STALL_MS || 1000);
let server;
let e2eeServer;
let lab;

before(async () => {
  server = await startServer({ config: 'e2ee = false' });
  lab = server.lab;
});

after(async () => {
  if (server) await server.stop();
  if (e2eeServer) await e2eeServer.stop();
});

async function serverCounters(srv = server) {
  return (await (await fetch(srv.base + '/health')).json()).counters;
}

const delta = (a, b, k) => (b[k] || 0) - (a[k] || 0);

async function assertNoStrays() {
  const strays = await lab.strays();
  assert.ok(Object.values(strays).every(n => n === 0), `packets sent outside 127.0.0.0/8 and 198.18.0.0/15: ${JSON.stringify(strays)}`);
}

/** 5% random loss toward one subscriber of `srv`; with E2EE the frames decoded are frames decrypted. */
async function lossTest(t, srv, e2ee) {
  const call = await openCall(srv, { channel: `netlab-loss-${e2ee ? 'e2ee' : 'plain'}`,
    camera: { width: 640, height: 360, fps: 30 }, options: e2ee ? { e2ee: true, keyMode: 'sender-keys' } : {} });
  const c = { pubPage: call.pub.page, sub: call.subs[0].browser, subPage: call.subs[0].page };
  try {
    await observe(c.subPage, 2000, 'warm');
    const ctr0 = await lab.counters(c.sub);
    const srv0 = await serverCounters(srv);
    await lab.setLoss(c.sub, 0.05, { direction: 'down', mode: 'random' });
    const samples = await observe(c.subPage, 10000, 'loss'); // (~1,500 packets, ~75 of them dropped)
    const ctr1 = await lab.counters(c.sub);
    const srv1 = await serverCounters(srv);
    await lab.clear(c.sub);

    const first = samples[0];
    const last = samples[samples.length - 1];
    const dropped = ctr1.down.lossDrops.packets - ctr0.down.lossDrops.packets;
    const sentOnVeth = ctr1.down.link.packets - ctr0.down.link.packets;
    const summary = {
      e2ee,
      ...decodeSummary(samples),
      droppedByLab: dropped,
      droppedFraction: Math.round(1000 * dropped / sentOnVeth) / 1000, // dropped on arrival: they crossed the veth
      packetsReceived: last.packetsReceived - first.packetsReceived,
      packetsLost: last.packetsLost - first.packetsLost,
      nackCount: last.nackCount - first.nackCount,
      pliCount: last.pliCount - first.pliCount,
      // with RTX, Chromium counts a packet repaired on the RTX stream here and still as lost on the media SSRC
      // (libwebrtc keeps "recovered" packets out of the media stream's receive statistics)
      retransmittedPacketsReceived: last.retransmittedPacketsReceived - first.retransmittedPacketsReceived,
      rtxSsrc: last.rtxSsrc,
      serverNackedPackets: delta(srv0, srv1, 'router.nacked_packets'),
      serverRetransmittedFromCache: delta(srv0, srv1, 'router.retransmitted_from_cache'),
      serverRetransmittedRtx: delta(srv0, srv1, 'router.retransmitted_rtx'), // of those, on RTX (once offered)
      vethBytesTowardSubscriber: ctr1.down.link.bytes - ctr0.down.link.bytes,
      bytesReceived: last.bytesReceived - first.bytesReceived,
      resolution: `${last.width}x${last.height}`,
    };
    console.log('netlab-loss ' + JSON.stringify(summary));
    t.diagnostic(`5% loss${e2ee ? ' (E2EE)' : ''}: ${JSON.stringify(summary)}`);

    // the lab did it: packets toward the subscriber crossed its veth and the loss rule dropped some of them
    assert.ok(summary.vethBytesTowardSubscriber >= summary.bytesReceived, `media must cross the subscriber's veth: ${JSON.stringify(summary)}`);
    assert.ok(dropped > 0, `the loss rule must drop packets: ${JSON.stringify(summary)}`);
    // video keeps decoding
    assert.ok(summary.frames > 10 * summary.seconds, `video must keep decoding under loss: ${JSON.stringify(summary)}`);
    assert.ok(summary.longestStallMs <= MAX_STALL_MS, `no stall over ${MAX_STALL_MS} ms under loss: ${JSON.stringify(summary)}`);
    // repair: the subscriber asks, the server answers from its cache, most dropped packets are not lost in the end
    assert.ok(summary.nackCount > 0, `the subscriber must send NACKs: ${JSON.stringify(summary)}`);
    assert.ok(summary.serverRetransmittedFromCache > 0, `the server must retransmit from its cache: ${JSON.stringify(summary)}`);
    const repaired = summary.rtxSsrc ? summary.retransmittedPacketsReceived : dropped - summary.packetsLost;
    assert.ok(repaired >= dropped / 2 && summary.serverRetransmittedFromCache >= dropped / 2,
      `most dropped packets must be repaired: ${JSON.stringify(summary)}`);
    // the server offers subscribers RTX: the repair arrives on the RTX stream Chromium negotiated
    assert.ok(summary.rtxSsrc > 0 && summary.serverRetransmittedRtx > 0,
      `retransmissions must use the negotiated RTX stream: ${JSON.stringify(summary)}`);
    if (e2ee) {
      // an E2EE session with the publisher: its frames were decrypted in the subscriber's worker to be decoded
      const remote = await c.subPage.evaluate(() => Object.keys(window.netlab.conn.e2eeRemoteFingerprints).length);
      assert.equal(remote, 1, 'the subscriber holds the publisher\'s E2EE identity');
    }
    await assertNoStrays();
  } finally {
    await call.close();
  }
}

test('5% random loss toward a subscriber: video keeps decoding, NACK repair is visible', t => lossTest(t, server, false));

test('5% random loss toward a subscriber of an E2EE call: video keeps decrypting and decoding, NACK repair is visible', async t => {
  e2eeServer = await startServer({ config: 'e2ee = true', lab });
  await lossTest(t, e2eeServer, true);
});

test('a subscriber limited to 400 kbit/s with one 720p publisher (measurement: no layer selection yet)', async t => {
  const call = await openCall(server, { channel: 'netlab-400k', camera: { width: 1280, height: 720, fps: 30 } });
  const c = { pubPage: call.pub.page, sub: call.subs[0].browser, subPage: call.subs[0].page };
  try {
    // let the publisher ramp up (not asserted here: uplink-bwe.test.mjs asserts it)
    const deadline = Date.now() + 10000;
    let out;
    do {
      await new Promise(r => setTimeout(r, 500));
      out = await c.pubPage.evaluate(outboundInPage);
    } while (out.width < 1280 && Date.now() < deadline);
    // (windows: 3 s free, 10 s limited, 5 s lifted — the lab's facts asserted below need a few seconds; the printed
    // figures in docs/BENCHMARKS.md up to now were taken over 5/20/10 s)
    const free = decodeSummary(await observe(c.subPage, 3000, 'free'));

    const ctr0 = await lab.counters(c.sub);
    const srv0 = await serverCounters();
    await lab.setRate(c.sub, 400, { direction: 'both' });
    const limitedSamples = await observe(c.subPage, 10000, 'limited');
    const ctr1 = await lab.counters(c.sub);
    const srv1 = await serverCounters();
    const limited = decodeSummary(limitedSamples);
    const lastLimited = limitedSamples[limitedSamples.length - 1];
    await lab.clear(c.sub);
    const lifted = decodeSummary(await observe(c.subPage, 5000, 'lifted'));
    const pubOut = await c.pubPage.evaluate(outboundInPage);

    const q0 = ctr0.down.qdisc || { packets: 0, bytes: 0, drops: 0, overlimits: 0 };
    const q1 = ctr1.down.qdisc;
    const summary = {
      publisher: `${pubOut.width}x${pubOut.height}`, publisherLimitedBy: pubOut.reason, // at the end
      free, limited, lifted,
      limitedLastResolution: `${lastLimited.width}x${lastLimited.height}`,
      limitedPacketsLost: lastLimited.packetsLost - limitedSamples[0].packetsLost,
      limitedNacks: lastLimited.nackCount - limitedSamples[0].nackCount,
      limitedPlis: lastLimited.pliCount - limitedSamples[0].pliCount,
      tbf: q1 && { packets: q1.packets - q0.packets, bytes: q1.bytes - q0.bytes, drops: q1.drops - q0.drops,
        overlimits: q1.overlimits - q0.overlimits },
      server: { nacked: delta(srv0, srv1, 'router.nacked_packets'), retransmitted: delta(srv0, srv1, 'router.retransmitted_from_cache'),
        keyFrameRequests: delta(srv0, srv1, 'router.key_frame_requests_sent'), sendDropped: delta(srv0, srv1, 'media.send_dropped'),
        // the server's downlink estimate of the subscriber (the only estimated transport), before and at the end of
        // the limited window, and of its feedback
        downlinkEstimateKbps: { free: Math.round((srv0['gauge.media.downlink.estimate_bps_min'] || 0) / 1000),
          limited: Math.round((srv1['gauge.media.downlink.estimate_bps_min'] || 0) / 1000) },
        downlinkFeedback: delta(srv0, srv1, 'media.downlink.twcc_feedback_received'),
        downlinkLost: delta(srv0, srv1, 'media.downlink.packets_lost') },
    };
    console.log('netlab-400k ' + JSON.stringify(summary));
    t.diagnostic(`400 kbit/s: ${JSON.stringify(summary)}`);

    // only the lab's facts: the media toward the subscriber went through its tbf, and the tbf held the rate
    assert.ok(q1 && summary.tbf.packets > 0, `media must cross the shaped veth: ${JSON.stringify(summary)}`);
    assert.ok(limited.kbps <= 400 * 1.15, `the subscriber must not receive more than the 400 kbit/s it is limited to: ${JSON.stringify(summary)}`);
    await assertNoStrays();
  } finally {
    await call.close();
  }
});
