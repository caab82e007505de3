// Three headless Chromium pages join one channel through the SDK served by a real veil-server.jar; each must
// decode both others' video (and it must be the other page's picture) and receive their audio; a page that leaves
// produces connection.destroyed at the others and its tracks end there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startServer, waitFor } from '../../test-support/helpers/server.mjs';
import { launchChromium, syntheticStreamSource } from '../../test-support/helpers/browser.mjs';

const PEERS = [
  { name: 'red', rgb: [220, 40, 40], hz: 440 },
  { name: 'green', rgb: [40, 200, 60], hz: 550 },
  { name: 'blue', rgb: [40, 60, 220], hz: 660 },
];
const CHANNEL = 'browser-call';
let server;
let browser;
const pages = [];
const ids = [];

// ------------------------------------------------------------------------------------------------ in-page code
async function joinInPage({ ws, channel, rgb, hz, name }) {
  const { default: Veil } = await import('/sdk/veil.js');
  const stream = window.makeSyntheticStream(rgb, hz);
  const conn = Veil.connection(ws).sendrecv(channel, null, { signalingNotifyMetadata: { name } });
  const veil = { conn, remote: {}, notifies: [], removed: [], disconnects: [], t0: performance.now() };
  window.veil = veil;
  conn.on('track', ev => {
    const r = (veil.remote[ev.connectionId] ||= { tracks: {} });
    r.tracks[ev.track.kind] = ev.track;
    if (ev.track.kind === 'video') {
      const v = document.createElement('video');
      v.muted = true; v.autoplay = true; v.playsInline = true;
      v.srcObject = new MediaStream([ev.track]);
      document.body.appendChild(v);
      r.video = v;
      const onFrame = now => { if (r.firstFrameAt === undefined) r.firstFrameAt = now; };
      if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(onFrame);
      v.play().catch(() => {});
    }
  });
  conn.on('notify', m => veil.notifies.push(m));
  conn.on('removetrack', ev => veil.removed.push({ connectionId: ev.connectionId, kind: ev.track.kind }));
  conn.on('disconnect', ev => veil.disconnects.push(ev));
  await conn.connect(stream);
  veil.connectedAt = performance.now();
  return conn.connectionId;
}

async function statsInPage() {
  const veil = window.veil;
  const report = await veil.conn.pc.getStats();
  const byTrack = {};
  report.forEach(s => {
    if (s.type === 'inbound-rtp') {
      byTrack[s.trackIdentifier] = { framesDecoded: s.framesDecoded || 0, packetsReceived: s.packetsReceived || 0 };
    }
  });
  const out = {};
  for (const [cid, r] of Object.entries(veil.remote)) {
    out[cid] = {
      video: r.tracks.video ? byTrack[r.tracks.video.id] || null : null,
      audio: r.tracks.audio ? byTrack[r.tracks.audio.id] || null : null,
      firstFrameMs: r.firstFrameAt === undefined ? null : r.firstFrameAt - veil.t0,
      videoState: r.tracks.video ? r.tracks.video.readyState : null,
      audioState: r.tracks.audio ? r.tracks.audio.readyState : null,
    };
  }
  return { remote: out, connectedMs: veil.connectedAt - veil.t0 };
}

/** The colour of the top-left quarter of the remote video of `cid` (away from the moving bar). */
function colourInPage(cid) {
  const r = window.veil.remote[cid];
  if (!r || !r.video || r.video.videoWidth === 0) return null;
  const c = document.createElement('canvas');
  c.width = 64; c.height = 48;
  const g = c.getContext('2d');
  g.drawImage(r.video, 0, 0, 64, 48);
  const d = g.getImageData(8, 8, 16, 16).data;
  const sum = [0, 0, 0];
  for (let i = 0; i < d.length; i += 4) { sum[0] += d[i]; sum[1] += d[i + 1]; sum[2] += d[i + 2]; }
  const n = d.length / 4;
  return sum.map(v => Math.round(v / n));
}

// ----------------------------------------------------------------------------------------------------- tests
before(async () => {
  // the plain (non-E2EE) call: a server with e2ee = false, which also refuses E2EE connects
  server = await startServer({ config: 'e2ee = false' });
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  if (server) {
    const code = await server.stop();
    if (process.env.VEIL_SHOW_SERVER_LOG) console.log(server.log());
    // 143 = 128 + SIGTERM: the JVM's status after its shutdown hooks ran (Jetty and UDP stopped)
    assert.ok(code === 0 || code === 143, `veil-server must exit cleanly on SIGTERM, got ${code}`);
    assert.match(server.log(), /veil-server stopped/);
  }
});

function close(a, b, tol) {
  return a.every((v, i) => Math.abs(v - b[i]) <= tol);
}

test('three pages see and hear each other; a leaver ends at the others', async t => {
  const startedAt = Date.now();
  for (const p of PEERS) {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('pageerror', e => console.error(`[${p.name}] page error:`, e.message));
    await page.goto(server.base + '/');
    await page.addScriptTag({ content: syntheticStreamSource() });
    pages.push(page);
  }
  // join one after the other, so the re-offer path is exercised for the earlier ones
  for (let i = 0; i < PEERS.length; i++) {
    const p = PEERS[i];
    ids[i] = await pages[i].evaluate(joinInPage, { ws: server.ws, channel: CHANNEL, rgb: p.rgb, hz: p.hz, name: p.name });
    assert.match(ids[i], /^[0-9A-HJKMNP-TV-Z]{26}$/);
  }

  // every page: both others' video decodes and keeps decoding, their audio arrives
  const first = [];
  for (let i = 0; i < pages.length; i++) {
    const others = ids.filter((_, j) => j !== i);
    first[i] = await waitFor(`page ${PEERS[i].name} decoding both others`, async () => {
      const s = await pages[i].evaluate(statsInPage);
      const ok = others.every(o => s.remote[o] && s.remote[o].video && s.remote[o].video.framesDecoded > 0
        && s.remote[o].audio && s.remote[o].audio.packetsReceived > 0);
      return ok ? s : null;
    }, 30000);
  }
  for (let i = 0; i < pages.length; i++) {
    const others = ids.filter((_, j) => j !== i);
    await waitFor(`page ${PEERS[i].name}: framesDecoded and audio packets grow`, async () => {
      const s = await pages[i].evaluate(statsInPage);
      return others.every(o => s.remote[o].video.framesDecoded > first[i].remote[o].video.framesDecoded + 10
        && s.remote[o].audio.packetsReceived > first[i].remote[o].audio.packetsReceived + 10);
    });
  }

  // the decoded picture is the other page's: its colour
  for (let i = 0; i < pages.length; i++) {
    for (let j = 0; j < pages.length; j++) {
      if (i === j) continue;
      const want = PEERS[j].rgb;
      let got = null;
      await waitFor(`page ${PEERS[i].name} shows ${PEERS[j].name}'s colour`, async () => {
        got = await pages[i].evaluate(colourInPage, ids[j]);
        return got && close(got, want, 45);
      }).catch(e => { throw new Error(`${e.message}; got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`); });
    }
  }

  // numbers: the last joiner's connect → connected and → first decoded frame of each other page
  const last = await pages[2].evaluate(statsInPage);
  const firstFrames = ids.slice(0, 2).map(o => last.remote[o].firstFrameMs).filter(v => v !== null);
  t.diagnostic(`last joiner: connect→connected ${last.connectedMs.toFixed(0)} ms, connect→first decoded remote frame ${firstFrames.map(v => v.toFixed(0)).join(' / ')} ms`);

  // hostile input in the middle of the call: garbage datagrams of every kind on the media port and a signaling
  // client that sends bad JSON; the offender is refused and closed, the three pages keep their media
  const before = [];
  for (let i = 0; i < pages.length; i++) before[i] = await pages[i].evaluate(statsInPage);
  // sent from the first browser's namespace, across its veth pair, to the server's media address
  const firstBytes = [0x00, 0x01, 0x16, 0x17, 0x80, 0x81, 0x90, 0xff, 0x40];
  const garbage = [];
  for (let k = 0; k < 300; k++) {
    const b = crypto.randomBytes(1 + (k * 37) % 1200);
    b[0] = firstBytes[k % firstBytes.length];
    if (b.length > 1 && (b[0] & 0xc0) === 0x80 && k % 2) b[1] = 200 + (k % 8); // RTCP packet types
    garbage.push(b);
  }
  await server.lab.sendUdp(garbage, server.rtcAddress, server.rtcPort, browser);
  const refused = await pages[0].evaluate(ws => new Promise(resolve => {
    const sock = new WebSocket(ws);
    const got = [];
    sock.onopen = () => sock.send('{"type":"connect","role":"sendrecv","channel_id":');
    sock.onmessage = e => got.push(JSON.parse(e.data));
    sock.onclose = e => resolve({ got, code: e.code });
  }), server.ws);
  assert.equal(refused.got[0].type, 'error');
  assert.match(refused.got[0].reason, /not valid JSON/);
  assert.equal(refused.code, 1008);
  for (let i = 0; i < pages.length; i++) {
    const others = ids.filter((_, j) => j !== i);
    await waitFor(`page ${PEERS[i].name} keeps its media after the hostile input`, async () => {
      const s = await pages[i].evaluate(statsInPage);
      return others.every(o => s.remote[o].video.framesDecoded > before[i].remote[o].video.framesDecoded + 10
        && s.remote[o].audio.packetsReceived > before[i].remote[o].audio.packetsReceived + 10);
    });
  }
  const afterHostile = (await (await fetch(server.base + '/health')).json()).counters;
  const droppedUdp = Object.entries(afterHostile).filter(([k]) => k.startsWith('udp.dropped.')).reduce((a, [, v]) => a + v, 0);
  assert.ok(droppedUdp >= 250, `garbage datagrams counted as dropped: ${JSON.stringify(afterHostile)}`);
  assert.ok(afterHostile['signaling.violations'] >= 1);

  // blue leaves: the others get connection.destroyed, blue's tracks end there, red and green keep decoding
  await pages[2].evaluate(() => window.veil.conn.disconnect());
  for (let i = 0; i < 2; i++) {
    await waitFor(`page ${PEERS[i].name} gets connection.destroyed for blue`, () => pages[i].evaluate(
      cid => window.veil.notifies.some(m => m.event_type === 'connection.destroyed' && m.connection_id === cid), ids[2]));
    await waitFor(`blue's tracks end at ${PEERS[i].name}`, async () => {
      const s = await pages[i].evaluate(statsInPage);
      return s.remote[ids[2]].videoState === 'ended' && s.remote[ids[2]].audioState === 'ended';
    });
  }
  for (let i = 0; i < 2; i++) {
    const other = ids[1 - i];
    const before = (await pages[i].evaluate(statsInPage)).remote[other].video.framesDecoded;
    await waitFor(`page ${PEERS[i].name} still decodes after the leave`, async () =>
      (await pages[i].evaluate(statsInPage)).remote[other].video.framesDecoded > before + 10);
  }
  const health = await (await fetch(server.base + '/health')).json();
  assert.equal(health.connections, 2);
  t.diagnostic(`whole call test ${Date.now() - startedAt} ms; server counters ${JSON.stringify(health.counters)}`);
});

test('sendonly → recvonly works, and failed connects reject with a reason', async () => {
  const context = await browser.newContext();
  const sender = await context.newPage();
  const receiver = await context.newPage();
  for (const page of [sender, receiver]) {
    await page.goto(server.base + '/');
    await page.addScriptTag({ content: syntheticStreamSource() });
  }
  const senderId = await sender.evaluate(async ({ ws }) => {
    const { default: Veil } = await import('/sdk/veil.js');
    const conn = Veil.connection(ws).sendonly('one-way', null, {});
    window.veil = { conn };
    await conn.connect(window.makeSyntheticStream([250, 200, 0], 300));
    return conn.connectionId;
  }, { ws: server.ws });
  await receiver.evaluate(async ({ ws }) => {
    const { default: Veil } = await import('/sdk/veil.js');
    const conn = Veil.connection(ws).recvonly('one-way', null, {});
    const veil = { conn, tracks: [] };
    window.veil = veil;
    conn.on('track', ev => veil.tracks.push({ kind: ev.track.kind, id: ev.track.id, from: ev.connectionId }));
    await conn.connect();
  }, { ws: server.ws });
  await waitFor('the recvonly page decodes the sendonly page', () => receiver.evaluate(async from => {
    const tracks = window.veil.tracks.filter(t => t.from === from);
    if (tracks.length !== 2) return false;
    const video = tracks.find(t => t.kind === 'video');
    let frames = 0;
    (await window.veil.conn.pc.getStats()).forEach(s => {
      if (s.type === 'inbound-rtp' && s.trackIdentifier === video.id) frames = s.framesDecoded || 0;
    });
    return frames > 5;
  }, senderId));
  // the sender receives nothing: its peer connection has no receiving m-line with a track
  const senderTracks = await sender.evaluate(() => window.veil.conn.pc.getTransceivers()
    .filter(t => t.currentDirection === 'recvonly' || t.currentDirection === 'sendrecv').length);
  assert.equal(senderTracks, 0);

  const failures = await receiver.evaluate(async ({ ws, deadPort }) => {
    const { default: Veil } = await import('/sdk/veil.js');
    const out = {};
    try {
      await Veil.connection(ws).recvonly('secret', null, { e2ee: true, keyMode: 'sender-keys' }).connect();
    } catch (e) { out.e2ee = e.message; }
    try {
      await Veil.connection(`ws://127.0.0.1:${deadPort}/signaling`).recvonly('x', null, { timeout: 5000 }).connect();
    } catch (e) { out.noServer = e.message; }
    try {
      await Veil.connection(ws).sendrecv('x', null, {}).connect(null);
    } catch (e) { out.noStream = e.message; }
    try {
      Veil.connection(ws).sendrecv('bad channel', null, {});
    } catch (e) { out.badChannel = e.message; }
    return out;
  }, { ws: server.ws, deadPort: server.rtcPort });
  assert.match(failures.e2ee, /refused by the server: e2ee is disabled on this server/);
  assert.match(failures.noServer, /signaling closed|timed out/);
  assert.match(failures.noStream, /needs a MediaStream/);
  assert.match(failures.badChannel, /channelId must be/);
  await sender.evaluate(() => window.veil.conn.disconnect());
  await receiver.evaluate(() => window.veil.conn.disconnect());
  await context.close();
});
