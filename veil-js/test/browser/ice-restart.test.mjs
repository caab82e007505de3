// ICE restart in a real call: two headless Chromium pages through veil-server.jar (plain call, e2ee = false). One
// page calls conn.restartIce(): the server re-offers with new ice-ufrag/ice-pwd (same m-lines), the browser answers
// with new credentials of its own and reconnects ICE with them, and both pages keep decoding each other's video.
// A second call right after is spaced by the SDK (the server takes one per 2 s), so the server refuses nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor } from '../../test-support/helpers/server.mjs';
import { launchChromium, syntheticStreamSource } from '../../test-support/helpers/browser.mjs';

const CHANNEL = 'ice-restart';
let server;
let browser;

async function joinInPage({ ws, channel, rgb, hz }) {
  const { default: Veil } = await import('/sdk/veil.js');
  const conn = Veil.connection(ws).sendrecv(channel, null, {});
  const veil = { conn, videoTracks: {}, disconnects: [], iceStates: [] };
  window.veil = veil;
  conn.on('track', ev => {
    if (ev.track.kind !== 'video') return;
    veil.videoTracks[ev.connectionId] = ev.track;
    const v = document.createElement('video');
    v.muted = true; v.autoplay = true; v.playsInline = true;
    v.srcObject = new MediaStream([ev.track]);
    document.body.appendChild(v);
    v.play().catch(() => {});
  });
  conn.on('disconnect', ev => veil.disconnects.push(ev));
  await conn.connect(window.makeSyntheticStream(rgb, hz));
  conn.pc.addEventListener('iceconnectionstatechange', () => veil.iceStates.push(conn.pc.iceConnectionState));
  return conn.connectionId;
}

/** ICE state, the ice-ufrags of both descriptions, the transport's ufrag and frames decoded from `other`. */
async function stateInPage(other) {
  const { conn } = window.veil;
  const pc = conn.pc;
  const ufrag = sdp => (/^a=ice-ufrag:(\S+)/m.exec(sdp || '') || [])[1] || null;
  const track = window.veil.videoTracks[other];
  let framesDecoded = 0;
  let transportUfrag = null;
  (await pc.getStats()).forEach(s => {
    if (s.type === 'inbound-rtp' && track && s.trackIdentifier === track.id) framesDecoded = s.framesDecoded || 0;
    if (s.type === 'transport' && s.iceLocalUsernameFragment) transportUfrag = s.iceLocalUsernameFragment;
  });
  return {
    ice: pc.iceConnectionState,
    connection: pc.connectionState,
    remoteUfrag: ufrag(pc.remoteDescription && pc.remoteDescription.sdp),
    localUfrag: ufrag(pc.localDescription && pc.localDescription.sdp),
    mlines: (pc.remoteDescription.sdp.match(/^(m=.*|a=mid:.*)$/mg) || []).join('|'),
    transportUfrag,
    framesDecoded,
    disconnects: window.veil.disconnects.length,
    iceStates: window.veil.iceStates.slice(),
  };
}

before(async () => {
  server = await startServer({ config: 'e2ee = false' });
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  if (server) {
    const code = await server.stop();
    if (process.env.VEIL_SHOW_SERVER_LOG) console.log(server.log());
    assert.ok(code === 0 || code === 143, `veil-server must exit cleanly on SIGTERM, got ${code}`);
  }
});

const counters = async () => (await (await fetch(server.base + '/health')).json()).counters;
const connectedIce = s => s.ice === 'connected' || s.ice === 'completed';

test('restartIce(): new ICE credentials on both sides, ICE reconnects, video keeps decoding both ways', async t => {
  const pages = [];
  const ids = [];
  const peers = [{ rgb: [220, 40, 40], hz: 440 }, { rgb: [40, 60, 220], hz: 660 }];
  for (const p of peers) {
    const page = await (await browser.newContext()).newPage();
    page.on('pageerror', e => console.error('page error:', e.message));
    await page.goto(server.base + '/');
    await page.addScriptTag({ content: syntheticStreamSource() });
    ids.push(await page.evaluate(joinInPage, { ws: server.ws, channel: CHANNEL, rgb: p.rgb, hz: p.hz }));
    pages.push(page);
  }
  const state = i => pages[i].evaluate(stateInPage, ids[1 - i]);
  const decodingMore = async (what, base) => {
    for (let i = 0; i < 2; i++) {
      await waitFor(`${what}: page ${i} decodes more frames`, async () => {
        const s = await state(i);
        return connectedIce(s) && s.framesDecoded > base[i] + 15 ? s : null;
      }, 30000);
    }
  };
  const first = [];
  for (let i = 0; i < 2; i++) {
    first[i] = await waitFor(`page ${i} decoding the other`, async () => {
      const s = await state(i);
      return s.framesDecoded > 5 ? s : null;
    }, 30000);
  }
  const before0 = await state(0);
  const before1 = await state(1);

  const startedAt = Date.now();
  await pages[0].evaluate(() => window.veil.conn.restartIce());
  const after0 = await state(0);
  assert.notEqual(after0.remoteUfrag, before0.remoteUfrag, 'the re-offer carries a new server ice-ufrag');
  assert.notEqual(after0.localUfrag, before0.localUfrag, 'the browser answered with a new ice-ufrag of its own');
  assert.equal(after0.mlines, before0.mlines, 'same m-lines');
  const back = await waitFor('page 0 ICE connected with the new credentials', async () => {
    const s = await state(0);
    if (!connectedIce(s)) return null;
    // where Chromium reports it, the transport uses the new ufrag
    return s.transportUfrag === null || s.transportUfrag === after0.localUfrag ? s : null;
  }, 20000);
  t.diagnostic(`restartIce() → re-answer sent and ICE ${back.ice} in ${Date.now() - startedAt} ms; `
    + `ICE states seen: ${back.iceStates.join(' → ') || '(stayed connected)'}; transport ufrag `
    + `${back.transportUfrag === null ? 'not reported' : 'is the new one'}`);
  await decodingMore('after the restart', [before0.framesDecoded, before1.framesDecoded]);
  assert.equal((await state(1)).remoteUfrag, before1.remoteUfrag, 'the other page was not restarted');

  let c = await counters();
  assert.equal(c['signaling.ice_restarts'], 1);
  assert.equal(c['media.ice_restarts'], 1);

  // two more calls at once, right after: they join one restart, which the SDK sends once the server's interval
  // has passed; nothing is refused
  const mid0 = await state(0);
  const mid1 = await state(1);
  await pages[0].evaluate(() => Promise.all([window.veil.conn.restartIce(), window.veil.conn.restartIce()]));
  const again = await state(0);
  assert.notEqual(again.remoteUfrag, after0.remoteUfrag);
  assert.notEqual(again.localUfrag, after0.localUfrag);
  await decodingMore('after the second restart', [mid0.framesDecoded, mid1.framesDecoded]);
  c = await counters();
  assert.equal(c['signaling.ice_restarts'], 2);
  assert.equal(c['signaling.ice_restart.rejected.rate'] ?? 0, 0);
  assert.equal(c['media.transports_failed'] ?? 0, 0);
  for (let i = 0; i < 2; i++) assert.equal((await state(i)).disconnects, 0);
  const health = await (await fetch(server.base + '/health')).json();
  assert.equal(health.connections, 2);

  // before media is up, restartIce() rejects
  const early = await pages[1].evaluate(async ws => {
    const { default: Veil } = await import('/sdk/veil.js');
    try {
      await Veil.connection(ws).recvonly('other', null, {}).restartIce();
      return null;
    } catch (e) {
      return e.reason;
    }
  }, server.ws);
  assert.equal(early, 'bad-state');

  for (const p of pages) await p.evaluate(() => window.veil.conn.disconnect());
});
