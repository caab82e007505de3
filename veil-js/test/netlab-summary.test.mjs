// decodeSummary (test-support/browser/netlab-pages.mjs): what the netlab browser tests conclude from getStats samples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSummary } from '../test-support/browser/netlab-pages.mjs';

const sample = (ts, framesDecoded, extra = {}) => ({ ts, framesDecoded, bytesReceived: ts * 10, freezeCount: 0, totalFreezesDuration: 0, ...extra });

test('decodeSummary_steadyDecoding_longestStallIsTheSamplingInterval', () => {
  const s = decodeSummary([0, 200, 400, 600, 800, 1000].map((t, i) => sample(t, 30 + 6 * i)));
  assert.deepEqual(s, { seconds: 1, frames: 30, fps: 30, longestStallMs: 200, kbps: 80, freezes: 0, freezeSeconds: 0 });
});

test('decodeSummary_aStallIsMeasuredFromTheLastGrowthToTheNextGrowth_byTheSamplesTimestamps', () => {
  const frames = [10, 12, 12, 12, 12, 12, 12, 20, 21];
  const s = decodeSummary(frames.map((f, i) => sample(i * 250, f)));
  assert.equal(s.longestStallMs, 1500); // grew at 250 ms, next at 1750 ms
  assert.equal(s.frames, 11);
});

test('decodeSummary_aStallStillOpenAtTheEnd_countsUpToTheLastSample', () => {
  const s = decodeSummary([sample(0, 5), sample(100, 6), sample(3100, 6, { freezeCount: 1, totalFreezesDuration: 2.5 })]);
  assert.equal(s.longestStallMs, 3000);
  assert.equal(s.freezes, 1);
  assert.equal(s.freezeSeconds, 2.5);
  assert.throws(() => decodeSummary([sample(0, 1)]), /at least two samples/);
});
