// The SDK's `codecs` option (docs/PROTOCOL.md §2.7): the preference list given to setCodecPreferences follows the
// option's order, keeps RTX/RED/ULPFEC, and with E2EE leaves out what the worker cannot protect for the format
// (so negotiation never picks a codec whose frames would have to be dropped); nothing left is a clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { videoCodecPreferences, E2EE_VIDEO_CODECS } from '../../src/veil.js';

const CAPS = ['VP8', 'rtx', 'VP9', 'H264', 'AV1', 'red', 'ulpfec', 'H264'].map((n, i) => ({
  mimeType: 'video/' + n, clockRate: 90000, sdpFmtpLine: 'x=' + i }));
const names = l => l.map(c => c.mimeType.slice(6));

test('codecs option: its order, then rtx/red/ulpfec', () => {
  assert.deepEqual(names(videoCodecPreferences(CAPS, ['AV1', 'VP9', 'H264', 'VP8'], null)),
    ['AV1', 'VP9', 'H264', 'H264', 'VP8', 'rtx', 'red', 'ulpfec']);
  assert.equal(videoCodecPreferences(CAPS, null, null), null, 'no option, no E2EE: the browser decides');
});

test('E2EE: SFrame leaves out AV1, JFrame also H.264; never a codec the worker would drop', () => {
  assert.deepEqual(names(videoCodecPreferences(CAPS, ['AV1', 'VP9', 'H264', 'VP8'], 'sframe')),
    ['VP9', 'H264', 'H264', 'VP8', 'rtx', 'red', 'ulpfec']);
  assert.deepEqual(names(videoCodecPreferences(CAPS, ['H264', 'VP8'], 'jframe')), ['VP8', 'rtx', 'red', 'ulpfec']);
  assert.deepEqual(names(videoCodecPreferences(CAPS, null, 'sframe')), ['VP8', 'VP9', 'H264', 'H264', 'rtx', 'red',
    'ulpfec']);
  assert.ok(!E2EE_VIDEO_CODECS.sframe.includes('AV1'));
});

test('nothing left: a clear error, not a silent fallback', () => {
  assert.throws(() => videoCodecPreferences(CAPS, ['AV1'], 'sframe'), /no video codec of \["AV1"\].*protects/);
  assert.throws(() => videoCodecPreferences(CAPS, ['HEVC'], null), /no video codec/);
});
