// Passphrase mode in headless Chromium (docs/PROTOCOL.md §2.5): per-connection sender keys. SFrame pages send under
// their own random KIDs (not 0, not equal) and decode each other with keys derived from P and the KID on the wire;
// JFrame pages publish their random salt in signaling_notify_metadata and decode each other with it. And, run in the
// page's WebCrypto: two senders that the server gave the same connection id never share a (key, nonce).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor } from '../../test-support/helpers/server.mjs';
import { launchChromium } from '../../test-support/helpers/browser.mjs';
import { smallStreamSource, joinE2eeInPage, e2eeStatsInPage } from '../../test-support/browser/e2ee-pages.mjs';

let server;
let browser;
const contexts = [];

before(async () => {
  server = await startServer({ config: 'e2ee = true' });
  browser = await launchChromium();
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  if (browser) await browser.close();
  if (server) await server.stop();
});

async function newPage() {
  const context = await browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(server.base + '/');
  await page.addScriptTag({ content: smallStreamSource() });
  return page;
}

async function decodes(page, what, from) {
  return waitFor(what, async () => {
    const s = (await page.evaluate(e2eeStatsInPage))[from];
    return s && s.video && s.video.framesDecoded > 5 && s.audio && s.audio.totalAudioEnergy > 0 ? s : null;
  }, 30000);
}

for (const format of ['sframe', 'jframe']) {
  test(`passphrase_${format}_twoPages_perConnectionKeys_decodeEachOther`, async () => {
    const channel = 'pp-' + format;
    const options = { passphrase: 'correct horse battery', e2eeFormat: format };
    const a = await newPage();
    const b = await newPage();
    const ida = await a.evaluate(joinE2eeInPage, { ws: server.ws, channel, rgb: [220, 40, 40], hz: 440, name: 'a', options });
    const idb = await b.evaluate(joinE2eeInPage, { ws: server.ws, channel, rgb: [40, 60, 220], hz: 660, name: 'b', options });
    await decodes(a, 'a decodes b', idb);
    await decodes(b, 'b decodes a', ida);
    const sendKids = await Promise.all([a, b].map((p) => p.evaluate(() =>
      window.veil.events.filter((e) => e.type === 'send-key').map((e) => e.kid))));
    if (format === 'sframe') {
      // each page's own random 64-bit KID; the receiver's key-used KID for the other is that KID
      assert.equal(sendKids[0].length, 1);
      assert.notEqual(sendKids[0][0], '0');
      assert.notEqual(sendKids[0][0], sendKids[1][0]);
      const used = await b.evaluate((s) => window.veil.events.find((e) => e.type === 'key-used' && e.operation === 'decrypt'
        && e.senderId === s).kid, ida);
      assert.equal(used, sendKids[0][0]);
    } else {
      const salts = await Promise.all([a, b].map((p) => p.evaluate(() =>
        window.veil.conn.signalingNotifyMetadata.e2ee_passphrase_salt)));
      assert.match(salts[0], /^[A-Za-z0-9_-]{22}$/);
      assert.notEqual(salts[0], salts[1]);
    }
    for (const p of [a, b]) await p.evaluate(() => window.veil.conn.disconnect());
  });
}

test('passphrase_sameConnectionIdForTwoSenders_neverSameKeyAndNonce_inChromiumWebCrypto', async () => {
  const page = await newPage();
  const r = await page.evaluate(async () => {
    const pp = await import('/sdk/e2ee/passphrase.js');
    const sf = await import('/sdk/e2ee/sframe.js');
    const hex = (b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
    // the server hands both senders (and one of them again after a reconnect) the id "DUP": the same P
    const p = await pp.passphraseKey('correct horse', 'room', 'DUP');
    const seen = new Set();
    let frames = 0;
    const kids = [];
    for (let conn = 0; conn < 3; conn++) {
      const kid = pp.randomPassphraseKid();
      kids.push(kid.toString());
      const { key, salt } = await sf.deriveKeyAndSalt(4, await pp.sframePassphraseBaseKey(p, kid), kid);
      for (let ctr = 0n; ctr < 50n; ctr++) {
        seen.add(hex(key) + '/' + hex(sf.makeNonce(salt, ctr)));
        frames++;
      }
    }
    const s1 = pp.randomPassphraseSalt();
    const s2 = pp.randomPassphraseSalt();
    const j1 = hex(await pp.jframePassphraseKey(p, s1));
    const j2 = hex(await pp.jframePassphraseKey(p, s2));
    return { frames, distinct: seen.size, kids, jframeDistinct: j1 !== j2 && j1 !== hex(p) };
  });
  assert.equal(r.distinct, r.frames, '(key, nonce) pairs all distinct');
  assert.equal(new Set(r.kids).size, 3);
  assert.equal(r.jframeDistinct, true);
});
