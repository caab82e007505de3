import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ReplayWindow, WrappingReplayWindow, KeyRing, kidOf, splitKid, nextStep, MAX_GENERATION,
} from '../../src/e2ee/keyring.js';

test('kid_layout_generationShiftedByEight', () => {
  assert.equal(kidOf(0, 0), 0n);
  assert.equal(kidOf(1, 2), 0x102n);
  assert.equal(kidOf(MAX_GENERATION, 255), (1n << 64n) - 1n);
  assert.deepEqual(splitKid(0x1234n), { generation: 0x12n, step: 0x34 });
  assert.equal(nextStep(0x1233n), 0x1234n);
  assert.throws(() => nextStep(0x12ffn), { reason: 'exhausted' });
  assert.throws(() => kidOf(0, 256), RangeError);
  assert.throws(() => kidOf(1n << 56n, 0), RangeError);
});

test('replayWindow_freshAcceptAndTooOld', () => {
  const w = new ReplayWindow();
  assert.equal(w.isFresh(5n), true);
  w.accept(5n);
  assert.equal(w.isFresh(5n), false);
  assert.equal(w.isFresh(4n), true);
  w.accept(200n);
  assert.equal(w.isFresh(5n), false); // 195 behind: too old
  assert.equal(w.isFresh(73n), true); // 127 behind: still in the window
  assert.equal(w.isFresh(72n), false); // 128 behind
  w.accept(73n);
  assert.equal(w.isFresh(73n), false);
  w.accept(201n);
  assert.equal(w.isFresh(73n), false); // slid out
  assert.equal(w.isFresh(200n), false);
  assert.equal(w.isFresh(199n), true);
});

test('replayWindow_largeJumpAndU64Max', () => {
  const w = new ReplayWindow();
  w.accept(1n);
  w.accept((1n << 64n) - 1n);
  assert.equal(w.isFresh((1n << 64n) - 1n), false);
  assert.equal(w.isFresh((1n << 64n) - 2n), true);
  assert.equal(w.isFresh(1n), false);
});

test('replayWindow_shiftKeepsBitsAcrossHalves', () => {
  const w = new ReplayWindow();
  w.accept(10n);
  w.accept(80n); // 10 is now 70 behind
  assert.equal(w.isFresh(10n), false);
  assert.equal(w.isFresh(11n), true);
  w.accept(137n); // 10 is now 127 behind
  assert.equal(w.isFresh(10n), false);
  assert.equal(w.isFresh(80n), false);
});

test('wrappingReplayWindow_wrapsModulo', () => {
  const w = new WrappingReplayWindow(0xffff);
  w.accept(0xfffd);
  w.accept(0xfffe);
  assert.equal(w.isFresh(0), true);
  w.accept(0);
  w.accept(1);
  assert.equal(w.isFresh(0xfffe), false);
  assert.equal(w.isFresh(0xfffc), true); // behind, in window, not seen
  assert.equal(w.isFresh(0), false);
  assert.equal(w.isFresh(0xffff), false); // outside the modulus
  assert.equal(w.isFresh(0xffff - 200), false); // 203 behind
  assert.throws(() => new WrappingReplayWindow(100), RangeError);
});

test('keyRing_fullRing_retiresOldestInstalled', () => {
  const retired = [];
  const r = new KeyRing(2, (e) => retired.push(e));
  r.put(1n, 'a');
  r.put(2n, 'b');
  r.put(1n, 'a2'); // replaces: 'a' retired, 1 is now the newest
  r.put(3n, 'c'); // retires 2 (oldest)
  assert.deepEqual(retired, ['a', 'b']);
  assert.equal(r.get(2n), null);
  assert.equal(r.get(1n), 'a2');
  assert.equal(r.remove(1n), true);
  assert.equal(r.remove(1n), false);
  r.clear();
  assert.deepEqual(retired, ['a', 'b', 'a2', 'c']);
  assert.equal(r.size, 0);
});

test('keyRing_ratchetBase_highestStepWithinBound', () => {
  const r = new KeyRing(8);
  r.put(kidOf(3, 1), 'x');
  r.put(kidOf(3, 4), 'y');
  r.put(kidOf(2, 9), 'z');
  assert.equal(r.ratchetBase(kidOf(3, 10), 16), kidOf(3, 4));
  assert.equal(r.ratchetBase(kidOf(3, 3), 16), kidOf(3, 1));
  assert.equal(r.ratchetBase(kidOf(3, 21), 16), null); // 17 steps above 4
  assert.equal(r.ratchetBase(kidOf(3, 1), 16), null);
  assert.equal(r.ratchetBase(kidOf(4, 5), 16), null); // another generation
});
