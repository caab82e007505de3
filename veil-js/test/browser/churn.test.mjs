// Issue 7 item 3, in headless Chromium against a real veil-server.jar: a long-lived member (the browser SDK,
// recvonly, plain channel) stays connected while VEIL_CHURN_PUBLISHERS (default 500) Java publishers
// (dev.veil.client.example.Churn from veil-client-all.jar) join, send a short Opus stream and leave, one after
// another (two side by side). The server rejects a gone track's m-line and recycles it under a new mid for the next
// track, so every offer the member gets stays small; the member answers every one (a re-answer over the server's
// 196,608-character limit would be closed as a protocol violation), its stopped transceivers go away, each track it
// was given ends with a 'removetrack', and at the end it still decodes the last publisher's audio.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor } from '../../test-support/helpers/server.mjs';
import { launchChromium } from '../../test-support/helpers/browser.mjs';
import { spawnChurn } from '../../test-support/helpers/java.mjs';
import { smallStreamSource, joinE2eeInPage, e2eeStatsInPage } from '../../test-support/browser/e2ee-pages.mjs';

const PUBLISHERS = Number(process.env.VEIL_CHURN_PUBLISHERS || 500);
const CHANNEL = 'churn';
/** The largest offer allowed: a handful of m-lines (at most two publishers live, ~700 characters a live m-line). */
const MAX_OFFER = 10_000;
/** The E2EE variant: fewer publishers (each streams longer, so its key reaches the member first). */
const E2EE_PUBLISHERS = Number(process.env.VEIL_CHURN_E2EE_PUBLISHERS || 8);
let server;
let browser;
let churn;
let e2eeServer;
let e2eeChurn;

before(async () => {
  server = await startServer();
  browser = await launchChromium();
});

after(async () => {
  if (e2eeChurn) await e2eeChurn.stop();
  if (e2eeServer) await e2eeServer.stop();
  const churnCode = churn ? await churn.stop() : 0;
  if (browser) await browser.close();
  const serverCode = server ? await server.stop() : 0;
  assert.ok(churnCode === 0 || churnCode === 143 || churnCode === 'SIGTERM', `Churn must stop on SIGTERM, got ${churnCode}`);
  assert.ok(serverCode === 0 || serverCode === 143, `veil-server must exit cleanly, got ${serverCode}`);
});

// ------------------------------------------------------------------------------------------------ in-page code
async function joinInPage({ ws, channel }) {
  const { default: Veil } = await import('/sdk/veil.js');
  const conn = Veil.connection(ws).recvonly(channel, null, {});
  const veil = { conn, offers: [], tracks: [], removed: [], disconnects: [], audio: new Map(), maxTransceivers: 0 };
  window.veil = veil;
  conn.on('signaling', m => {
    if (m.type === 'offer' || m.type === 're-offer') {
      veil.offers.push(m.sdp.length);
      if (veil.offers.length > 2000) veil.offers.splice(0, 1000, Math.max(...veil.offers.slice(0, 1000)));
    }
  });
  conn.on('track', ev => {
    veil.tracks.push({ id: ev.track.id, connectionId: ev.connectionId, kind: ev.track.kind, mid: ev.transceiver.mid });
    veil.maxTransceivers = Math.max(veil.maxTransceivers, conn.pc.getTransceivers().length);
    if (ev.track.kind === 'audio') {
      // played out, so the inbound-rtp stats count decoded samples and their energy
      const a = new Audio();
      a.srcObject = new MediaStream([ev.track]);
      a.play().catch(() => {});
      veil.audio.set(ev.track.id, { el: a, track: ev.track, connectionId: ev.connectionId });
    }
  });
  conn.on('removetrack', ev => {
    veil.removed.push({ id: ev.track.id, connectionId: ev.connectionId, state: ev.track.readyState });
    const a = veil.audio.get(ev.track.id);
    if (a) { a.el.srcObject = null; veil.audio.delete(ev.track.id); }
  });
  conn.on('disconnect', ev => veil.disconnects.push(ev));
  await conn.connect(null);
  return conn.connectionId;
}

function summaryInPage() {
  const v = window.veil;
  return {
    offers: v.offers.length, largestOffer: Math.max(...v.offers), lastOffer: v.offers[v.offers.length - 1],
    tracks: v.tracks, removed: v.removed, disconnects: v.disconnects, pcState: v.conn.pc.connectionState,
    transceivers: v.conn.pc.getTransceivers().length, maxTransceivers: v.maxTransceivers,
    remoteStreams: [...v.conn.remoteStreams.keys()],
  };
}

async function audioStatsInPage(connectionId) {
  const v = window.veil;
  const entry = [...v.audio.values()].find(a => a.connectionId === connectionId);
  if (!entry) return null;
  const report = await v.conn.pc.getStats();
  let out = null;
  report.forEach(s => {
    if (s.type === 'inbound-rtp' && s.trackIdentifier === entry.track.id) {
      out = { packetsReceived: s.packetsReceived || 0, totalSamplesReceived: s.totalSamplesReceived || 0,
        totalAudioEnergy: s.totalAudioEnergy || 0, state: entry.track.readyState };
    }
  });
  return out;
}

test(`churn_${PUBLISHERS}PublishersJoinAndLeave_longLivedChromiumMemberStays_offersStaySmall_lastOneIsHeard`, async t => {
  const t0 = Date.now();
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', e => console.error('page error:', e.message));
  await page.goto(server.base + '/');
  await page.evaluate(joinInPage, { ws: server.ws, channel: CHANNEL });

  churn = await spawnChurn({ ws: server.ws, channel: CHANNEL, count: PUBLISHERS, frames: 3, concurrency: 2 });
  const failWithOutput = e => { throw new Error(`${e.message}\n${churn.output()}`); };
  // ~0.1-0.3 s per publisher on a loaded 2-core machine; the bound only ends a hung run
  await waitFor(`${PUBLISHERS} publishers joined and left`, () => {
    if (churn.state.failed) throw new Error(`Churn failed: ${churn.state.failed}`);
    if (churn.state.exitCode !== null) throw new Error(`Churn exited with ${churn.state.exitCode}`);
    // with concurrency 2 the last publisher can connect before the one before it has joined and left
    const s = churn.state;
    return s.last && s.joined.length >= PUBLISHERS - 1 && s.left.length >= PUBLISHERS - 1 ? s.last : null;
  }, Math.max(60_000, PUBLISHERS * 1000), 250).catch(failWithOutput);
  const churnMs = Date.now() - t0;
  assert.equal(churn.state.joined.length, PUBLISHERS - 1);
  assert.equal(churn.state.left.length, PUBLISHERS - 1);
  const lastId = churn.state.last;

  // the member still decodes media: the last publisher's noise, non-silent and growing
  const first = await waitFor('the member decodes the last publisher\'s audio', async () => {
    const s = await page.evaluate(audioStatsInPage, lastId);
    return s && s.packetsReceived > 25 && s.totalSamplesReceived > 0 && s.totalAudioEnergy > 0 ? s : null;
  }, 30_000).catch(async e => failWithOutput(new Error(`${e.message}; ${JSON.stringify(await page.evaluate(summaryInPage))
    .slice(0, 2000)}`)));
  const later = await waitFor('the last publisher\'s audio keeps coming', async () => {
    const s = await page.evaluate(audioStatsInPage, lastId);
    return s.packetsReceived > first.packetsReceived + 25 && s.totalAudioEnergy > first.totalAudioEnergy ? s : null;
  });

  const sum = await page.evaluate(summaryInPage);
  // never disconnected: no 'disconnect' event, media up, and the server still lists the member
  assert.deepEqual(sum.disconnects, []);
  assert.equal(sum.pcState, 'connected');
  // and the server refused no answer, nor any message as too large (the member's re-answers are all fine)
  const metrics = await (await fetch(`${server.base}/metrics`)).text();
  const refused = metrics.split('\n').filter(l => /rejected/.test(l) && /(answer|too_large)/.test(l) && !/^#/.test(l)
    && Number(l.split(' ').pop()) !== 0);
  assert.deepEqual(refused, [], 'no answer refused by the server');

  // offers stay small: a few live m-lines plus a few short rejected ones, never one per publisher that came
  assert.ok(sum.largestOffer < MAX_OFFER, `largest offer ${sum.largestOffer} characters`);
  assert.ok(sum.offers > PUBLISHERS / 4, `the member got ${sum.offers} offers: the churn reached it`);
  // stopped transceivers are gone: the browser holds as few as the SDP has m-lines
  assert.ok(sum.maxTransceivers <= 8 && sum.transceivers <= 8, `transceivers ${sum.transceivers}, max ${sum.maxTransceivers}`);

  // every track the member was given came from a publisher of the run, on its own mid, and every one but the last
  // publisher's ended with one 'removetrack' (its track ended)
  const all = new Set([...churn.state.joined, lastId]);
  assert.ok(sum.tracks.length >= PUBLISHERS / 5, `the member got ${sum.tracks.length} tracks`);
  assert.ok(sum.tracks.every(x => all.has(x.connectionId) && x.kind === 'audio'), 'tracks of the publishers only');
  assert.equal(new Set(sum.tracks.map(x => x.mid)).size, sum.tracks.length, 'a new mid for every track');
  const stillLive = sum.tracks.filter(x => x.connectionId === lastId);
  assert.equal(stillLive.length, 1);
  const removedIds = sum.removed.map(x => x.id);
  assert.equal(new Set(removedIds).size, removedIds.length, 'one removetrack per track');
  assert.deepEqual(new Set(removedIds), new Set(sum.tracks.filter(x => x.connectionId !== lastId).map(x => x.id)));
  assert.ok(sum.removed.every(x => x.state === 'ended'));
  assert.deepEqual(sum.remoteStreams, [lastId]);

  await page.evaluate(() => window.veil.conn.disconnect());
  await context.close();
  t.diagnostic(`${PUBLISHERS} publishers in ${churnMs} ms; member got ${sum.offers} offers, largest ${sum.largestOffer} `
    + `characters, last ${sum.lastOffer}; ${sum.tracks.length} tracks, ${sum.removed.length} removed; transceivers max `
    + `${sum.maxTransceivers}; last publisher: ${later.packetsReceived} packets, energy ${later.totalAudioEnergy.toFixed(3)}; `
    + `total ${Date.now() - t0} ms`);
});

// E2EE: every recycled m-line is a new transceiver whose receiver the SDK binds to the new publisher's connection id
// (its stream id), so the member decrypts each publisher with that publisher's key, and never fails a frame for any
// other reason than a key not there yet.
test(`churnE2ee_${E2EE_PUBLISHERS}Publishers_eachRecycledReceiverDecryptsItsOwnPublisher`, async t => {
  const t0 = Date.now();
  e2eeServer = await startServer({ config: 'e2ee = true' });
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', e => console.error('page error:', e.message));
  await page.goto(e2eeServer.base + '/');
  await page.addScriptTag({ content: smallStreamSource() });
  await page.evaluate(joinE2eeInPage, { ws: e2eeServer.ws, channel: 'churn-e2ee', rgb: [40, 60, 220], hz: 330, name: 'member' });
  await page.evaluate(() => {
    window.veil.offers = [];
    window.veil.mids = [];
    window.veil.conn.on('signaling', m => { if (m.type === 're-offer') window.veil.offers.push(m.sdp.length); });
    window.veil.conn.on('track', ev => window.veil.mids.push({ mid: ev.transceiver.mid, connectionId: ev.connectionId }));
  });
  e2eeChurn = await spawnChurn({ ws: e2eeServer.ws, channel: 'churn-e2ee', count: E2EE_PUBLISHERS, frames: 25, e2ee: true,
    keyMode: 'sender-keys' });
  const failWithOutput = e => { throw new Error(`${e.message}\n${e2eeChurn.output()}`); };
  await waitFor(`${E2EE_PUBLISHERS} E2EE publishers joined and left`, () => {
    if (e2eeChurn.state.failed) throw new Error(`Churn failed: ${e2eeChurn.state.failed}`);
    if (e2eeChurn.state.exitCode !== null) throw new Error(`Churn exited with ${e2eeChurn.state.exitCode}`);
    return e2eeChurn.state.last;
  }, Math.max(60_000, E2EE_PUBLISHERS * 5000), 250).catch(failWithOutput);
  const lastId = e2eeChurn.state.last;
  const audio = await waitFor('the member decrypts and decodes the last publisher\'s audio', async () => {
    const s = (await page.evaluate(e2eeStatsInPage))[lastId];
    return s && s.audio && s.audio.packetsReceived > 25 && s.audio.totalAudioEnergy > 0 ? s.audio : null;
  }, 30_000).catch(failWithOutput);

  const { events, offers, mids, disconnected } = await page.evaluate(() => ({ events: window.veil.events,
    offers: window.veil.offers, mids: window.veil.mids, disconnected: window.veil.conn._closed }));
  assert.equal(disconnected, false);
  const ids = [...e2eeChurn.state.joined, lastId];
  // the member decrypted frames of (nearly) every publisher under that publisher's own key
  const decrypted = new Set(events.filter(e => e.type === 'key-used' && e.operation === 'decrypt').map(e => e.senderId));
  const heard = ids.filter(id => decrypted.has(id));
  assert.ok(heard.length >= ids.length - 2, `decrypted ${heard.length} of ${ids.length} publishers`);
  assert.ok(decrypted.has(lastId));
  assert.ok([...decrypted].every(id => ids.includes(id)), 'decrypted for publishers of the run only');
  const errors = events.filter(e => e.type === 'error');
  assert.ok(errors.every(e => e.source === 'frames' && /^no[-_]key$/i.test(e.reason)),
    `only frames before their key arrived may fail: ${JSON.stringify(errors.slice(0, 5))}`);
  // and the m-lines were recycled: a new mid per track, few m-lines
  assert.equal(new Set(mids.map(m => m.mid)).size, mids.length);
  assert.ok(Math.max(...offers) < MAX_OFFER, `largest re-offer ${Math.max(...offers)}`);

  await page.evaluate(() => window.veil.conn.disconnect());
  await context.close();
  t.diagnostic(`${ids.length} E2EE publishers: decrypted ${heard.length}; ${errors.length} frame errors (no key yet); `
    + `largest re-offer ${Math.max(...offers)}; last publisher ${audio.packetsReceived} packets; total ${Date.now() - t0} ms`);
});
