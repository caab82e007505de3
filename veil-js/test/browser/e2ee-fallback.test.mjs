// The createEncodedStreams fallback of the E2EE Worker, end to end in headless Chromium against a real
// veil-server.jar (e2ee = true). Chromium has RTCRtpScriptTransform, so every page here hides it before any page
// script runs (and counts calls of RTCRtpSender/Receiver.createEncodedStreams): the SDK must then make its
// PeerConnection with encodedInsertableStreams and pipe the encoded streams through the worker. Two pages join with
// {e2ee: true} (group keys, SFrame) and decode each other's video (right colour) and audio; a passphrase room shows
// frames still fail closed: a page with the wrong passphrase decodes nothing and reports bad-tag.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor } from '../../test-support/helpers/server.mjs';
import { launchChromium } from '../../test-support/helpers/browser.mjs';
import {
  smallStreamSource, joinE2eeInPage, e2eeStatsInPage, remoteColourInPage, closeColour,
} from '../../test-support/browser/e2ee-pages.mjs';

const PEERS = [
  { name: 'red', rgb: [220, 40, 40], hz: 440 },
  { name: 'green', rgb: [40, 200, 60], hz: 550 },
];
let server;
let browser;
const contexts = [];
const timings = {};

before(async () => {
  server = await startServer({ config: 'e2ee = true' });
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  if (server) {
    const code = await server.stop();
    assert.ok(code === 0 || code === 143, `veil-server must exit cleanly, got ${code}`);
  }
  if (Object.keys(timings).length) console.log('# browser e2ee fallback timings ' + JSON.stringify(timings));
});

/** Runs in the page before its scripts: no RTCRtpScriptTransform; counts createEncodedStreams calls. */
function hideScriptTransform() {
  delete window.RTCRtpScriptTransform;
  window.__encodedStreams = { sender: 0, receiver: 0 };
  for (const [cls, key] of [[window.RTCRtpSender, 'sender'], [window.RTCRtpReceiver, 'receiver']]) {
    const orig = cls && cls.prototype.createEncodedStreams;
    if (typeof orig !== 'function') continue;
    cls.prototype.createEncodedStreams = function (...args) {
      window.__encodedStreams[key]++;
      return orig.apply(this, args);
    };
  }
}

async function newFallbackPage(hash = '') {
  const context = await browser.newContext();
  contexts.push(context);
  await context.addInitScript(hideScriptTransform);
  const page = await context.newPage();
  page.on('pageerror', e => console.error('page error:', e.message));
  await page.goto(server.base + '/' + hash);
  await page.addScriptTag({ content: smallStreamSource() });
  const env = await page.evaluate(() => ({
    scriptTransform: typeof window.RTCRtpScriptTransform,
    senderStreams: typeof RTCRtpSender.prototype.createEncodedStreams,
    receiverStreams: typeof RTCRtpReceiver.prototype.createEncodedStreams,
  }));
  assert.deepEqual(env, { scriptTransform: 'undefined', senderStreams: 'function', receiverStreams: 'function' },
    'the page has no RTCRtpScriptTransform but has createEncodedStreams');
  return page;
}

const stats = page => page.evaluate(e2eeStatsInPage);

/** Waits until `page` decodes `other`'s video beyond `base` (+n frames) and hears its audio. */
async function waitDecoding(page, name, other, base = null, n = 5) {
  return waitFor(`${name} decoding ${other}`, async () => {
    const s = (await stats(page))[other];
    return s && s.video && s.audio
      && s.video.framesDecoded > (base ? base.video.framesDecoded : 0) + n
      && s.audio.totalAudioEnergy > (base ? base.audio.totalAudioEnergy : 0)
      && s.audio.packetsReceived > 10 ? s : null;
  }, 15000);
}

/** In-page: which transform path the connection took. */
function transformPathInPage() {
  const c = window.veil.conn;
  const senders = c.pc.getSenders().filter(s => s.track);
  const receivers = c.pc.getReceivers().filter(r => r.track);
  return {
    scriptTransform: typeof window.RTCRtpScriptTransform,
    needsEncodedInsertableStreams: c.e2ee.needsEncodedInsertableStreams,
    encodedInsertableStreams: c.pc.getConfiguration().encodedInsertableStreams === true,
    transformsSet: [...senders, ...receivers].filter(x => x.transform).length,
    senders: senders.length,
    receivers: receivers.length,
    calls: { ...window.__encodedStreams },
  };
}

test('e2eeFallback_createEncodedStreams_twoPagesDecodeEachOther_keysUsedThroughTheWorker', async t => {
  const pages = [await newFallbackPage(), await newFallbackPage()];
  const ids = [];
  const t0 = Date.now();
  for (let i = 0; i < 2; i++) {
    const p = PEERS[i];
    ids[i] = await pages[i].evaluate(joinE2eeInPage, { ws: server.ws, channel: 'fallback-room', rgb: p.rgb, hz: p.hz, name: p.name });
    assert.equal(await pages[i].evaluate(() => window.veil.conn.e2eeMode), 'keys');
  }

  // each decodes the other's video (growing, the sender's colour) and hears its audio
  const first = [await waitDecoding(pages[0], 'red', ids[1]), await waitDecoding(pages[1], 'green', ids[0])];
  timings.joinToBothDecodingMs = Date.now() - t0;
  await waitDecoding(pages[0], 'red (growing)', ids[1], first[0], 10);
  await waitDecoding(pages[1], 'green (growing)', ids[0], first[1], 10);
  for (const [i, j] of [[0, 1], [1, 0]]) {
    let got = null;
    await waitFor(`${PEERS[i].name} shows ${PEERS[j].name}'s colour`, async () => {
      got = await pages[i].evaluate(remoteColourInPage, ids[j]);
      return closeColour(got, PEERS[j].rgb, 45);
    }, 10000).catch(e => { throw new Error(`${e.message}; got ${JSON.stringify(got)}`); });
  }

  // the fallback path was taken: no RTCRtpScriptTransform, the PeerConnection asked for encoded insertable streams,
  // no sender/receiver has a .transform, and createEncodedStreams ran on both senders and both receivers
  for (let i = 0; i < 2; i++) {
    const path = await pages[i].evaluate(transformPathInPage);
    assert.equal(path.scriptTransform, 'undefined');
    assert.equal(path.needsEncodedInsertableStreams, true, 'the SDK knows it is on the fallback');
    assert.equal(path.encodedInsertableStreams, true, 'the PeerConnection was made with encodedInsertableStreams');
    assert.equal(path.transformsSet, 0, 'no RTCRtpScriptTransform set on any sender/receiver');
    t.diagnostic(`${PEERS[i].name}: ${JSON.stringify(path)}`);
    assert.ok(path.senders >= 2 && path.receivers >= 2, `senders and receivers: ${JSON.stringify(path)}`);
    // one call per sending track, and one per receiver of the other member's audio and video
    assert.deepEqual(path.calls, { sender: path.senders, receiver: 2 }, `createEncodedStreams calls: ${JSON.stringify(path)}`);

    // the worker encrypted and decrypted frames (key-used events only come from frames piped through it), for audio
    // and video alike, and no frame failed authentication
    const ev = await pages[i].evaluate(() => window.veil.events.map(e => ({ type: e.type, operation: e.operation,
      senderId: e.senderId, reason: e.reason, kind: e.kind, source: e.source })));
    assert.ok(ev.some(e => e.type === 'key-used' && e.operation === 'encrypt'), `${PEERS[i].name} encrypted through the worker`);
    assert.ok(ev.some(e => e.type === 'key-used' && e.operation === 'decrypt' && e.senderId === ids[1 - i]),
      `${PEERS[i].name} decrypted ${PEERS[1 - i].name}'s frames through the worker`);
    const bad = ev.filter(e => e.type === 'error' && e.reason !== 'replay' && e.reason !== 'unknown-key'
      && e.reason !== 'no-key');
    const errors = ev.filter(e => e.type === 'error');
    t.diagnostic(`${PEERS[i].name} e2ee errors: ${JSON.stringify(errors)}`);
    assert.deepEqual(bad, [], `${PEERS[i].name}: no e2ee errors beyond frames that came before their key`);
  }
  timings.decodingVerifiedMs = Date.now() - t0;
  for (const p of pages) await p.evaluate(() => window.veil.conn.disconnect());
  for (const c of contexts.splice(0)) await c.close();
});

test('e2eeFallback_wrongPassphrase_decodesNothing_badTag_rightOneDecodes', async t => {
  const right = 'correct horse battery';
  const channel = 'fallback-passphrase';
  const good = await newFallbackPage();
  const wrong = await newFallbackPage();
  const t0 = Date.now();
  const idGood = await good.evaluate(joinE2eeInPage,
    { ws: server.ws, channel, rgb: [220, 40, 40], hz: 440, name: 'good', options: { passphrase: right } });
  const idWrong = await wrong.evaluate(joinE2eeInPage,
    { ws: server.ws, channel, rgb: [40, 60, 220], hz: 660, name: 'wrong', options: { passphrase: 'wrong horse' } });
  for (const p of [good, wrong]) {
    assert.equal(await p.evaluate(() => window.veil.conn.e2eeMode), 'passphrase');
    assert.equal(await p.evaluate(() => window.veil.conn.e2ee.needsEncodedInsertableStreams), true);
  }
  // each drops the other's frames as bad-tag, though the packets arrive
  await waitFor('both pages drop the other\'s video as bad-tag', async () => {
    const r = await Promise.all([[wrong, idGood], [good, idWrong]].map(([p, s]) => p.evaluate(sender => window.veil.events
      .some(e => e.type === 'error' && e.reason === 'bad-tag' && e.senderId === sender && e.kind === 'video'), s)));
    return r.every(Boolean);
  }, 15000);
  for (const [p, other] of [[wrong, idGood], [good, idWrong]]) {
    const s = await waitFor('packets arrive', async () => {
      const x = (await stats(p))[other];
      return x && x.audio && x.video && x.audio.packetsReceived > 50 && x.video.packetsReceived > 30 ? x : null;
    }, 15000);
    assert.equal(s.video.framesDecoded, 0, 'a wrong key decodes no video');
    assert.equal(s.audio.totalAudioEnergy, 0, 'a wrong key decodes no audio');
    const used = await p.evaluate(sender => window.veil.events.filter(e => e.type === 'key-used'
      && e.operation === 'decrypt' && e.senderId === sender).length, other);
    assert.equal(used, 0, 'no frame of the other opened');
    const calls = await p.evaluate(() => window.__encodedStreams);
    assert.ok(calls.sender >= 2 && calls.receiver >= 2, `createEncodedStreams calls: ${JSON.stringify(calls)}`);
  }
  // the check itself works: with the right passphrase the wrong page decodes from then on
  await wrong.evaluate(pass => window.veil.conn.e2ee.setPassphrase(pass), right);
  await waitDecoding(wrong, 'wrong page after setPassphrase(right)', idGood, null, 3);
  await waitDecoding(good, 'good page after the other set the right passphrase', idWrong, null, 3);
  timings.passphraseTestMs = Date.now() - t0;
  t.diagnostic('fallback with a wrong passphrase: 0 frames decoded, bad-tag; after setPassphrase(right) both decode');
  for (const p of [good, wrong]) await p.evaluate(() => window.veil.conn.disconnect());
  for (const c of contexts.splice(0)) await c.close();
});
