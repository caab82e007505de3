// The SDK's simulcast helpers, without a browser: reading the layers a server offer asks for, dropping simulcast from
// an offer ({simulcast: false}), and the encodings it gives a sender's layers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulcastRecvRids, withoutSimulcast, VeilConnection } from '../../src/veil.js';

const VIDEO_UP = [
  'm=video 5000 UDP/TLS/RTP/SAVPF 96 97',
  'a=mid:1',
  'a=recvonly',
  'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  'a=rid:q recv',
  'a=rid:h recv',
  'a=rid:f recv',
  'a=simulcast:recv q;h;f',
  '',
].join('\r\n');

test('simulcastRecvRids reads the offered layers in order, lowest first', () => {
  assert.deepEqual(simulcastRecvRids(VIDEO_UP), ['q', 'h', 'f']);
  assert.deepEqual(simulcastRecvRids('a=simulcast: recv rid=a;~b,c\r\n'), ['a', 'b']);
  assert.deepEqual(simulcastRecvRids('a=simulcast:send q;h\r\n'), [], 'a send list is not an offer to receive');
  assert.deepEqual(simulcastRecvRids('m=video 9 X 96\r\na=recvonly\r\n'), []);
});

test('withoutSimulcast drops a=rid and a=simulcast and nothing else', () => {
  const sdp = 'v=0\r\n' + VIDEO_UP;
  const out = withoutSimulcast(sdp);
  assert.ok(!/a=rid|a=simulcast/.test(out));
  assert.equal(out.split('\r\n').length, sdp.split('\r\n').length - 4);
  assert.ok(out.includes('a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id'));
});

/** A fake RTCRtpSender with the encodings Chromium makes from an offer's rids. */
function fakeSender(rids) {
  let params = { encodings: rids.map(rid => ({ rid, active: true })) };
  return {
    set: null,
    getParameters: () => structuredClone(params),
    async setParameters(p) { params = structuredClone(p); this.set = p; },
  };
}

test('the default encodings: 1/4, 1/2 and full resolution with rising bitrates; fewer layers take the top ones', async () => {
  const conn = new VeilConnection('ws://x', 'sendonly', 'c', null, {});
  const s3 = fakeSender(['q', 'h', 'f']);
  await conn._setSimulcastEncodings(s3, ['q', 'h', 'f']);
  assert.deepEqual(s3.set.encodings.map(e => [e.rid, e.scaleResolutionDownBy, e.maxBitrate]),
    [['q', 4, 150000], ['h', 2, 500000], ['f', 1, 2500000]]);
  const s2 = fakeSender(['h', 'f']);
  await conn._setSimulcastEncodings(s2, ['h', 'f']);
  assert.deepEqual(s2.set.encodings.map(e => e.scaleResolutionDownBy), [2, 1]);
  const one = fakeSender(['f']);
  await conn._setSimulcastEncodings(one, ['f']);
  assert.equal(one.set, null, 'one encoding: nothing to set');
});

test('simulcastEncodings replaces the table', async () => {
  const conn = new VeilConnection('ws://x', 'sendonly', 'c', null,
    { simulcastEncodings: [{ scaleResolutionDownBy: 3, maxBitrate: 100000, maxFramerate: 15 }, { scaleResolutionDownBy: 1 }] });
  const s = fakeSender(['lo', 'hi']);
  await conn._setSimulcastEncodings(s, ['lo', 'hi']);
  assert.deepEqual(s.set.encodings[0], { rid: 'lo', active: true, scaleResolutionDownBy: 3, maxBitrate: 100000, maxFramerate: 15 });
  assert.deepEqual(s.set.encodings[1], { rid: 'hi', active: true, scaleResolutionDownBy: 1 });
});
