// Tracks in an E2EE call of three in headless Chromium against a real veil-server.jar (docs/PROTOCOL.md §1.3
// "Screen share"): every member joins with {screenShare: true}, so the server offers each a second video uplink and
// forwards it to the others as a track labelled screen. Alice starts and stops sharing 10 times with
// startScreenShare(), i.e. a real getDisplayMedia() capture: headless Chromium runs with --use-fake-ui-for-media-stream
// (no permission prompt) and --auto-select-desktop-capture-source=Entire screen (the picker picks its fake 1280x720
// screen source), called from a button click (user activation). Throughout, every other remote track (camera and microphone of every member, at every member) keeps
// decoding: its framesDecoded (video) or totalSamplesReceived (audio) grows in every cycle. While shared, Bob and
// Carol decode Alice's screen. Then mute/unmute (track.enabled) and replaceTrack (a camera switch) keep Alice's
// camera decoding at the others, with no re-offer to Alice and no E2EE frame error anywhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor } from '../../test-support/helpers/server.mjs';
import { launchChromium } from '../../test-support/helpers/browser.mjs';
import { smallStreamSource } from '../../test-support/browser/e2ee-pages.mjs';

const CHANNEL = 'tracks';
const SHARES = 10;
let server;
let browser;

before(async () => {
  server = await startServer({ config: 'e2ee = true' });
  browser = await launchChromium({ args: ['--auto-select-desktop-capture-source=Entire screen',
    '--auto-accept-this-tab-capture'] });
});

after(async () => {
  if (browser) await browser.close();
  const code = server ? await server.stop() : 0;
  assert.ok(code === 0 || code === 143, `veil-server must exit cleanly, got ${code}`);
});

/** In-page: joins with E2EE and a screen-share uplink; records every remote receiver by publisher and slot. */
async function joinInPage({ ws, channel, rgb, hz }) {
  const { default: Veil } = await import('/sdk/veil.js');
  await Veil.initE2EE();
  const conn = Veil.connection(ws).sendrecv(channel, null, { e2ee: true, keyMode: 'sender-keys', screenShare: true });
  const tr = { conn, remote: {}, events: [], reoffers: 0, rgb };
  window.tr = tr;
  conn.on('e2ee', ev => tr.events.push(ev));
  conn.on('signaling', m => { if (m.type === 're-offer') tr.reoffers++; });
  conn.on('track', ev => {
    const slot = ev.screen ? 'screen' : ev.track.kind;
    (tr.remote[ev.connectionId] ||= {})[slot] = ev.receiver;
    const el = document.createElement(ev.track.kind === 'audio' ? 'audio' : 'video');
    el.muted = ev.track.kind === 'video';
    el.autoplay = true;
    el.srcObject = new MediaStream([ev.track]);
    if (ev.track.kind === 'video') el.style.cssText = 'width:80px;height:60px';
    document.body.appendChild(el);
    el.play().catch(() => {});
  });
  await conn.connect(window.makeSmallStream(rgb, hz));
  return conn.connectionId;
}

/** In-page: {publisher: {audio, video, screen}} counters (video framesDecoded, audio totalSamplesReceived). */
async function countersInPage() {
  const out = {};
  for (const [id, slots] of Object.entries(window.tr.remote)) {
    out[id] = {};
    for (const [slot, receiver] of Object.entries(slots)) {
      let n = 0;
      (await receiver.getStats()).forEach(s => {
        if (s.type === 'inbound-rtp') n = slot === 'audio' ? (s.totalSamplesReceived || 0) : (s.framesDecoded || 0);
      });
      out[id][slot] = n;
    }
  }
  return out;
}

test('tracks_screenShareStartedAndStopped10Times_inAnE2eeCallOfThree_everyOtherTrackKeepsDecoding_muteAndReplaceTrack', async () => {
  const people = [['alice', [220, 40, 40], 440], ['bob', [40, 200, 40], 550], ['carol', [40, 40, 220], 660]];
  const pages = [];
  const ids = [];
  for (const [name, rgb, hz] of people) {
    const page = await (await browser.newContext()).newPage();
    page.on('pageerror', e => console.error(`${name} page error:`, e.message));
    await page.goto(server.base + '/');
    await page.addScriptTag({ content: smallStreamSource() });
    ids.push(await page.evaluate(joinInPage, { ws: server.ws, channel: CHANNEL, rgb, hz }));
    pages.push(page);
  }
  const [alice, bob, carol] = pages;
  const counters = () => Promise.all(pages.map(p => p.evaluate(countersInPage)));
  // the "other tracks": every member's camera and microphone at every other member
  const others = c => {
    const out = [];
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        if (i !== j) for (const slot of ['audio', 'video']) out.push([`${people[i][0]} ← ${people[j][0]} ${slot}`, (c[i][ids[j]] || {})[slot] || 0]);
      }
    }
    return out;
  };
  await waitFor('everyone decodes everyone\'s camera and microphone, and has the others\' screen slots', async () => {
    const c = await counters();
    const screens = [0, 1, 2].every(i => [0, 1, 2].every(j => i === j || (c[i][ids[j]] && 'screen' in c[i][ids[j]])));
    return screens && others(c).every(([, n]) => n > 0);
  }, 60000, 250);
  const reoffersBefore = await alice.evaluate(() => window.tr.reoffers);

  let prev = others(await counters());
  for (let k = 0; k < SHARES; k++) {
    const before = await counters();
    await alice.evaluate(() => {
      window.tr.share = null;
      if (!document.getElementById('share')) {
        document.body.insertAdjacentHTML('beforeend', '<button id="share">share</button>');
        document.getElementById('share').onclick = () => window.tr.conn.startScreenShare().then(
          t => { window.tr.share = { label: t.label, surface: t.getSettings().displaySurface }; },
          e => { window.tr.share = { error: `${e.name}: ${e.message}` }; });
      }
    });
    await alice.click('#share');
    const share = await waitFor(`share ${k + 1}: getDisplayMedia answers`, () => alice.evaluate(() => window.tr.share), 20000);
    assert.equal(share.error, undefined, 'getDisplayMedia() must succeed in the test browser');
    assert.equal(share.surface, 'monitor');
    await waitFor(`share ${k + 1}: bob and carol decode alice's screen`, async () => {
      const c = await counters();
      return [1, 2].every(i => c[i][ids[0]].screen >= before[i][ids[0]].screen + 3);
    }, 30000, 100);
    await alice.evaluate(() => window.tr.conn.stopScreenShare());
    assert.equal(await alice.evaluate(() => window.tr.conn.screenTrack), null);
    // every other track decoded more during this cycle
    const now = await waitFor(`cycle ${k + 1}: every other track keeps decoding`, async () => {
      const cur = others(await counters());
      return cur.every(([, n], i) => n > prev[i][1]) ? cur : null;
    }, 30000, 100).catch(async e => { throw new Error(`${e.message}: ${JSON.stringify(others(await counters()))} vs ${JSON.stringify(prev)}`); });
    prev = now;
  }

  // mute / unmute alice's camera and microphone, then switch her camera: still decoding at bob and carol
  const cameraAt = async () => (await counters()).slice(1).map(c => c[ids[0]].video);
  for (const step of ['mute', 'unmute', 'replace']) {
    const b = await cameraAt();
    await alice.evaluate(async step => {
      const c = window.tr.conn;
      if (step === 'mute') { c.setMuted('video', true); c.setMuted('audio', true); }
      else if (step === 'unmute') { c.setMuted('video', false); c.setMuted('audio', false); }
      else {
        const s = window.makeSmallStream([250, 250, 0], 300);
        const old = await c.replaceTrack(s.getVideoTracks()[0]);
        if (old) old.stop();
      }
    }, step);
    await waitFor(`${step}: bob and carol keep decoding alice's camera`, async () => {
      const a = await cameraAt();
      return a.every((n, i) => n >= b[i] + 5);
    }, 30000, 100);
  }
  assert.equal(await alice.evaluate(() => window.tr.reoffers), reoffersBefore,
    'sharing, muting and replaceTrack never renegotiated alice');
  for (let i = 0; i < 3; i++) {
    const errs = await pages[i].evaluate(() => window.tr.events.filter(e => e.type === 'error'
      && e.source === 'frames' && e.reason !== 'no-key'));
    assert.deepEqual(errs, [], `${people[i][0]}: no frame failed to decrypt`);
  }
  for (const p of pages) await p.context().close();
  void bob; void carol;
});
