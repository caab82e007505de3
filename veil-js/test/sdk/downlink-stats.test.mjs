// The SDK's downlink stats (docs/PROTOCOL.md §1.2 downlink-stats): the server's report becomes conn.downlinkStats
// (camel-cased), a 'downlink-stats' event and the `downlink` part of conn.getStats(); a malformed one is ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VeilConnection } from '../../src/veil.js';

const REPORT = { type: 'downlink-stats', estimate_bps: 1450000, tracks: [
  { track_id: 'PUB-video', layer: 0, switches: 2, rtx_sent: 31, nacks_received: 40, plis_sent: 3 }] };

test('a downlink-stats report is exposed as downlinkStats, an event and getStats().downlink', async () => {
  const conn = new VeilConnection('ws://127.0.0.1:1/signaling', 'recvonly', 'room', null, {});
  assert.equal(conn.downlinkStats, null);
  const events = [];
  conn.on('downlink-stats', s => events.push(s));
  conn._onSignaling(JSON.stringify(REPORT));
  const want = { estimateBps: 1450000, tracks: [{ trackId: 'PUB-video', layer: 0, switches: 2, rtxSent: 31,
    nacksReceived: 40, plisSent: 3 }] };
  const { receivedAt, ...got } = conn.downlinkStats;
  assert.deepEqual(got, want);
  assert.ok(receivedAt > 0);
  assert.equal(events.length, 1);
  assert.equal(events[0], conn.downlinkStats);
  const stats = await conn.getStats();
  assert.equal(stats.rtc, null, 'no peer connection yet');
  assert.equal(stats.downlink, conn.downlinkStats);
});

test('a malformed report is ignored', () => {
  const conn = new VeilConnection('ws://127.0.0.1:1/signaling', 'recvonly', 'room', null, {});
  conn._onSignaling(JSON.stringify({ type: 'downlink-stats', estimate_bps: 'lots', tracks: [] }));
  conn._onSignaling(JSON.stringify({ type: 'downlink-stats', estimate_bps: 1, tracks: {} }));
  assert.equal(conn.downlinkStats, null);
  conn._onSignaling(JSON.stringify({ type: 'downlink-stats', estimate_bps: 1, tracks: [null, { layer: 1 },
    { track_id: 'x', layer: 'top', rtx_sent: -0.5 }] }));
  assert.deepEqual(conn.downlinkStats.tracks, [{ trackId: 'x', layer: 0, switches: 0, rtxSent: 0, nacksReceived: 0,
    plisSent: 0 }], 'entries without an id dropped, non-integers read as 0');
});
