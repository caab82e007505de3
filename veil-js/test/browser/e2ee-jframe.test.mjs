// JFrame (Jitsi's frame format) end to end in headless Chromium against a real veil-server.jar (e2ee = true, with the
// TEST-ONLY forward tap): two pages join with {e2ee: true, e2eeFormat: 'jframe'} and decode each other's video and
// audio; what the SFU forwards carries the JFrame trailer (IV-length byte 0x0C, key index < 16, IV starting with the
// sender's SSRC); a third page joins (the others ratchet: same generation, next step, same key index) and leaves (the
// others send under a fresh generation, key index = generation mod 16), and the remaining two keep decoding.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, waitFor } from '../../test-support/helpers/server.mjs';
import { launchChromium } from '../../test-support/helpers/browser.mjs';
import {
  openSmallStreamPage, joinE2eeInPage, e2eeStatsInPage, remoteColourInPage, closeColour, readTap, reassemble,
} from '../../test-support/browser/e2ee-pages.mjs';
import { splitKid } from '../../src/e2ee/keyring.js';

const PEERS = [
  { name: 'red', rgb: [220, 40, 40], hz: 440 },
  { name: 'green', rgb: [40, 200, 60], hz: 550 },
  { name: 'blue', rgb: [40, 60, 220], hz: 660 },
];
const CHANNEL = 'jframe-room';
const JFRAME_IV_LENGTH = 12;
const JFRAME_OVERHEAD = 16 + JFRAME_IV_LENGTH + 2; // tag, IV, IV-length byte, key-index byte
const tapFile = path.join(mkdtempSync(path.join(tmpdir(), 'veil-tap-')), 'forward-tap.jsonl');
let server;
let browser;
const pages = [];
const ids = [];
const ssrcs = [];

before(async () => {
  server = await startServer({ config: 'e2ee = true', args: ['--test-forward-tap', tapFile] });
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  if (server) {
    const code = await server.stop();
    assert.ok(code === 0 || code === 143, `veil-server must exit cleanly, got ${code}`);
  }
});

const newPage = () => openSmallStreamPage(browser, server.base);

async function join(i) {
  const p = PEERS[i];
  pages[i] = await newPage();
  ids[i] = await pages[i].evaluate(joinE2eeInPage,
    { ws: server.ws, channel: CHANNEL, rgb: p.rgb, hz: p.hz, name: p.name, options: { e2eeFormat: 'jframe' } });
  assert.equal(await pages[i].evaluate(() => window.veil.conn.e2ee.format), 'jframe');
}

const stats = page => page.evaluate(e2eeStatsInPage);

/**
 * The SSRCs the page's video encoder sends with (what JFrame puts in the first 4 bytes of the IV): one per simulcast
 * layer (the SDK sends three by default), of which a subscriber gets one at a time.
 */
const videoSsrc = page => waitFor('the outbound video SSRCs', () => page.evaluate(async () => {
  const ssrcs = [];
  (await window.veil.conn.pc.getStats()).forEach(s => { if (s.type === 'outbound-rtp' && s.kind === 'video') ssrcs.push(s.ssrc); });
  return ssrcs.length ? ssrcs : null;
}));

/** The page's send keys in the order they were activated: [{generation, step}] (BigInt). */
const sendKeys = page => page.evaluate(() => window.veil.events.filter(e => e.type === 'send-key').map(e => e.kid))
  .then(kids => kids.map(kid => splitKid(BigInt(kid))));

/** Key indexes the page's encryptor reported using ('key-used' encrypt events say "index N"). */
const encryptIndexes = page => page.evaluate(() => window.veil.events
  .filter(e => e.type === 'key-used' && e.operation === 'encrypt').map(e => e.kid));

/** Waits until `page` decodes video from every id in `others` beyond `base` (+n frames) and hears their audio. */
async function waitDecoding(page, name, others, base = {}, n = 5) {
  return waitFor(`${name} decoding ${others.length} other(s)`, async () => {
    const s = await stats(page);
    return others.every(o => s[o] && s[o].video && s[o].audio
      && s[o].video.framesDecoded > (base[o] ? base[o].video.framesDecoded : 0) + n
      && s[o].audio.totalAudioEnergy > (base[o] ? base[o].audio.totalAudioEnergy : 0)
      && s[o].audio.packetsReceived > 10) ? s : null;
  }, 15000);
}

async function waitColour(i, j) {
  let got = null;
  await waitFor(`${PEERS[i].name} shows ${PEERS[j].name}'s colour`, async () => {
    got = await pages[i].evaluate(remoteColourInPage, ids[j]);
    return closeColour(got, PEERS[j].rgb, 45);
  }).catch(e => { throw new Error(`${e.message}; got ${JSON.stringify(got)}`); });
}

/** Whole VP8 frames of `publisher` as forwarded, each with its JFrame trailer fields (null when it has none). */
function tappedFrames(publisher) {
  return reassemble(readTap(tapFile).filter(p => p.publisher === publisher)).map(f => {
    const n = f.data.length;
    const trailer = n >= JFRAME_OVERHEAD && f.data[n - 2] === JFRAME_IV_LENGTH
      ? { keyIndex: f.data[n - 1], ivSsrc: f.data.readUInt32BE(n - 2 - JFRAME_IV_LENGTH) } : null;
    return { ...f, trailer };
  });
}

function assertJFrame(frames, ssrcs, who) {
  for (const f of frames) {
    assert.ok(f.trailer, `${who}: a forwarded frame of ${f.data.length} bytes has no JFrame trailer (IV-length byte ${f.data[f.data.length - 2]})`);
    assert.ok(f.trailer.keyIndex < 16, `${who}: key index ${f.trailer.keyIndex}`);
    assert.ok(ssrcs.includes(f.trailer.ivSsrc), `${who}: the IV starts with one of the sender's SSRCs (${ssrcs}), not ${f.trailer.ivSsrc}`);
  }
}

test('jframe_twoPages_decodeEachOther_forwardedFramesAreJFrame', async () => {
  await join(0);
  await join(1);
  const first = [await waitDecoding(pages[0], 'red', [ids[1]]), await waitDecoding(pages[1], 'green', [ids[0]])];
  await waitDecoding(pages[0], 'red (growing)', [ids[1]], first[0], 10);
  await waitDecoding(pages[1], 'green (growing)', [ids[0]], first[1], 10);
  await waitColour(0, 1);
  await waitColour(1, 0);

  for (let i = 0; i < 2; i++) {
    ssrcs[i] = await videoSsrc(pages[i]);
    const keys = await sendKeys(pages[i]);
    assert.ok(keys.length > 0, `${PEERS[i].name} has a send key`);
    const used = await encryptIndexes(pages[i]);
    assert.ok(used.length > 0 && used.every(k => /^index (\d|1[0-5])$/.test(k)), `JFrame key indexes in use: ${used}`);
    const frames = await waitFor(`tapped key and delta frames of ${PEERS[i].name}`, () => {
      const f = tappedFrames(ids[i]);
      return f.some(x => (x.data[0] & 1) === 0) && f.length >= 20 ? f : null;
    });
    assertJFrame(frames, ssrcs[i], PEERS[i].name);
    const indexes = new Set(keys.map(k => Number(k.generation % 16n)));
    for (const f of frames) assert.ok(indexes.has(f.trailer.keyIndex), `key index ${f.trailer.keyIndex} is generation mod 16 of a send key`);
  }
});

test('jframe_thirdJoins_othersRatchet_leaveRekeysWithIndexGenerationMod16_remainingKeepDecoding', async () => {
  assert.equal(ids.length, 2, 'needs the call of the first test');
  const [red, green] = pages;
  const before = [await sendKeys(red), await sendKeys(green)];

  // join: red and green ratchet their send key (same generation, next step, so the same key index)
  await join(2);
  for (let i = 0; i < 2; i++) {
    const last = before[i][before[i].length - 1];
    const ratcheted = await waitFor(`${PEERS[i].name} ratchets on blue's join`, async () => {
      const ks = await sendKeys(pages[i]);
      return ks.length > before[i].length ? ks[ks.length - 1] : null;
    });
    assert.equal(ratcheted.generation, last.generation, 'a join ratchets, it does not re-key');
    assert.ok(ratcheted.step > last.step, `the step moves on: ${last.step} → ${ratcheted.step}`);
  }
  ssrcs[2] = await videoSsrc(pages[2]);
  for (let i = 0; i < 3; i++) {
    await waitDecoding(pages[i], PEERS[i].name, ids.filter((_, j) => j !== i));
  }
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) if (i !== j) await waitColour(i, j);
  const blueFrames = await waitFor('tapped frames of blue', () => {
    const f = tappedFrames(ids[2]);
    return f.length >= 10 ? f : null;
  });
  assertJFrame(blueFrames, ssrcs[2], 'blue');

  // leave: red and green each send under a fresh generation, key index = generation mod 16
  const beforeLeave = [await sendKeys(red), await sendKeys(green)];
  await pages[2].evaluate(() => window.veil.conn.disconnect());
  const fresh = [];
  for (let i = 0; i < 2; i++) {
    const gen = beforeLeave[i][beforeLeave[i].length - 1].generation;
    fresh[i] = await waitFor(`${PEERS[i].name} activates a fresh key after blue left`, async () => {
      const ks = await sendKeys(pages[i]);
      const k = ks.slice(beforeLeave[i].length).find(x => x.generation > gen);
      return k || null;
    });
    const index = Number(fresh[i].generation % 16n);
    await waitFor(`${PEERS[i].name} encrypts with key index ${index}`,
      async () => (await encryptIndexes(pages[i])).includes('index ' + index));
    const frames = await waitFor(`forwarded frames of ${PEERS[i].name} under key index ${index}`, () => {
      const f = tappedFrames(ids[i]).filter(x => x.trailer && x.trailer.keyIndex === index);
      return f.length >= 10 ? f : null;
    });
    assertJFrame(frames, ssrcs[i], PEERS[i].name);
  }

  // red and green keep decoding each other under the fresh keys: the receiver used the new index, and
  // framesDecoded and audio energy grow, with the right picture
  for (const [i, j] of [[0, 1], [1, 0]]) {
    const index = Number(fresh[j].generation % 16n);
    await waitFor(`${PEERS[i].name} decrypts ${PEERS[j].name}'s key index ${index}`, () => pages[i].evaluate(
      ({ sender, kid }) => window.veil.events.some(e => e.type === 'key-used' && e.operation === 'decrypt'
        && e.senderId === sender && e.kid === kid), { sender: ids[j], kid: 'index ' + index }));
    const base = await stats(pages[i]);
    await waitDecoding(pages[i], `${PEERS[i].name} after the re-key`, [ids[j]], base, 15);
    await waitColour(i, j);
  }
  for (const p of [red, green]) await p.evaluate(() => window.veil.conn.disconnect());
});
