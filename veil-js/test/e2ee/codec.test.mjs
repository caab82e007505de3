import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex } from '../../src/e2ee/bytes.js';
import { CODECS, codecFor, isVp8KeyFrame } from '../../src/e2ee/codec.js';

const VP8_KEY = fromHex('b0be009d012a8002e00111223344');   // P bit 0
const VP8_DELTA = fromHex('31020011223344556677');        // P bit 1

test('vp8_keyFrame_tenBytes', () => {
  assert.equal(CODECS.vp8.clearPrefixLength(VP8_KEY, 'key'), 10);
  assert.equal(CODECS.vp8.clearPrefixLength(VP8_KEY, undefined), 10);
});

test('vp8_deltaFrame_threeBytes', () => {
  assert.equal(CODECS.vp8.clearPrefixLength(VP8_DELTA, 'delta'), 3);
  assert.equal(CODECS.vp8.clearPrefixLength(VP8_DELTA, undefined), 3);
});

test('vp8_typeWinsOverPBit', () => {
  assert.equal(CODECS.vp8.clearPrefixLength(VP8_DELTA, 'key'), 10);
  assert.equal(CODECS.vp8.clearPrefixLength(VP8_KEY, 'delta'), 3);
  assert.equal(isVp8KeyFrame(VP8_KEY, undefined), true);
  assert.equal(isVp8KeyFrame(VP8_DELTA, undefined), false);
});

test('shortFrames_clampedNeverThrow', () => {
  assert.equal(CODECS.vp8.clearPrefixLength(VP8_KEY.subarray(0, 5), 'key'), 5);
  assert.equal(CODECS.vp8.clearPrefixLength(VP8_DELTA.subarray(0, 2), 'delta'), 2);
  assert.equal(CODECS.vp8.clearPrefixLength(new Uint8Array(0), undefined), 0);
  assert.equal(CODECS.opus.clearPrefixLength(new Uint8Array(0)), 0);
  assert.equal(CODECS.opus.clearPrefixLength(fromHex('fc')), 1);
  assert.equal(CODECS.opus.clearPrefixLength(fromHex('fcffee')), 1);
  assert.equal(CODECS.none.clearPrefixLength(VP8_KEY), 0);
});

test('codecFor_mimeTypeThenKind', () => {
  assert.equal(codecFor('video/VP8'), CODECS.vp8);
  assert.equal(codecFor('audio/opus', 'audio'), CODECS.opus);
  assert.equal(codecFor('video/VP9'), CODECS.none);
  assert.equal(codecFor('video/H264', 'video'), CODECS.h264);
  assert.equal(codecFor('video/AV1'), CODECS.av1);
  assert.equal(codecFor('video/H265'), null);
  assert.equal(codecFor(undefined, 'video'), CODECS.vp8);
  assert.equal(codecFor('', 'audio'), CODECS.opus);
  assert.equal(codecFor(undefined, undefined), null);
});
