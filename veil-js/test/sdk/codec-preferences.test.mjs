// The SDK's `codecs` option (docs/PROTOCOL.md §2.9): the preference list given to setCodecPreferences follows the
// option's order, keeps RTX/RED/ULPFEC, and with E2EE leaves out what the worker cannot protect for the format
// (so negotiation never picks a codec whose frames would have to be dropped); nothing left is a clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { videoCodecPreferences, E2EE_VIDEO_CODECS } from '../../src/veil.js';

const CAPS = ['VP8', 'rtx', 'VP9', 'H264', 'AV1', 'red', 'ulpfec', 'H264', 'H265'].map((n, i) => ({
  mimeType: 'video/' + n, clockRate: 90000, sdpFmtpLine: 'x=' + i }));
const names = l => l.map(c => c.mimeType.slice(6));

test('codecs option: its order, then rtx/red/ulpfec', () => {
  assert.deepEqual(names(videoCodecPreferences(CAPS, ['AV1', 'VP9', 'H264', 'VP8'], null)),
    ['AV1', 'VP9', 'H264', 'H264', 'VP8', 'rtx', 'red', 'ulpfec']);
  assert.equal(videoCodecPreferences(CAPS, null, null), null, 'no option, no E2EE: the browser decides');
});

test('E2EE: SFrame leaves out H.265, JFrame also H.264 and AV1; never a codec the worker would drop', () => {
  assert.deepEqual(names(videoCodecPreferences(CAPS, ['H265', 'AV1', 'VP9', 'H264', 'VP8'], 'sframe')),
    ['AV1', 'VP9', 'H264', 'H264', 'VP8', 'rtx', 'red', 'ulpfec']);
  assert.deepEqual(names(videoCodecPreferences(CAPS, ['AV1', 'H264', 'VP8'], 'jframe')), ['VP8', 'rtx', 'red', 'ulpfec']);
  assert.deepEqual(names(videoCodecPreferences(CAPS, null, 'sframe')), ['VP8', 'VP9', 'H264', 'AV1', 'H264', 'rtx',
    'red', 'ulpfec']);
  assert.ok(E2EE_VIDEO_CODECS.sframe.includes('AV1') && !E2EE_VIDEO_CODECS.jframe.includes('AV1'));
  assert.ok(!E2EE_VIDEO_CODECS.sframe.includes('H265'));
});

test('nothing left: a clear error, not a silent fallback', () => {
  assert.throws(() => videoCodecPreferences(CAPS, ['H265'], 'sframe'), /no video codec of \["H265"\].*protects/);
  assert.throws(() => videoCodecPreferences(CAPS, ['AV1'], 'jframe'), /no video codec of \["AV1"\].*protects/);
  assert.throws(() => videoCodecPreferences(CAPS, ['HEVC'], null), /no video codec/);
});

const OFFER = ['v=0', 'o=- 1 0 IN IP4 127.0.0.1', 's=-', 't=0 0',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 102 97 103', 'a=mid:1', 'a=recvonly', 'a=rtpmap:96 VP8/90000',
  'a=rtcp-fb:96 nack', 'a=rtpmap:102 H264/90000', 'a=fmtp:102 packetization-mode=1', 'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96', 'a=rtpmap:103 rtx/90000', 'a=fmtp:103 apt=102',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 102', 'a=mid:2', 'a=sendonly', 'a=rtpmap:96 VP8/90000', 'a=rtpmap:102 H264/90000',
  ''].join('\r\n');

test('the offer: uplink video in the option order, others and their RTX left out; downlink untouched', async () => {
  const { orderOfferVideoCodecs } = await import('../../src/veil.js');
  const sdp = orderOfferVideoCodecs(OFFER, ['H264'], 'sframe');
  assert.match(sdp, /m=video 9 UDP\/TLS\/RTP\/SAVPF 102 103\r\na=mid:1/);
  assert.doesNotMatch(sdp, /a=rtpmap:96 VP8\/90000\r\na=rtcp-fb:96 nack/);
  assert.doesNotMatch(sdp, /a=fmtp:97/);
  assert.match(sdp, /m=video 9 UDP\/TLS\/RTP\/SAVPF 96 102\r\na=mid:2/, 'what the client receives is not restricted');
  assert.equal(orderOfferVideoCodecs(OFFER, null, null), OFFER);
  assert.match(orderOfferVideoCodecs(OFFER, ['AV1', 'VP9', 'H264', 'VP8'], 'sframe'), /SAVPF 102 96 103 97\r\n/);
  assert.match(orderOfferVideoCodecs(OFFER, ['H264', 'VP8'], 'jframe'), /SAVPF 96 97\r\n/, 'JFrame cannot protect H.264');
  assert.throws(() => orderOfferVideoCodecs(OFFER, ['AV1'], 'sframe'), /offers no video codec of \["AV1"\].*offers VP8, H264/);
});
