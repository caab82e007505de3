// Scale-out in Chromium (docs/PROTOCOL.md §1.9): a redis-server and three veil-server.jar nodes (cluster on, short
// timings) in the lab's hub namespace. Two E2EE pages join one channel as reconnecting members through different
// nodes: the second is redirected to the owner, and each shows the other's colour (decrypted). The owner is killed
// (SIGKILL): both pages reconnect on their own ('reconnecting', 'reconnected'), land on one live node that took the
// channel over, and show each other's colour again, decrypted under the new members' keys.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor } from '../../test-support/helpers/server.mjs';
import { launchChromium } from '../../test-support/helpers/browser.mjs';
import { defaultLab } from '../../test-support/helpers/netns.mjs';
import { openSmallStreamPage, remoteColourInPage, closeColour } from '../../test-support/browser/e2ee-pages.mjs';

const PEERS = [
  { name: 'red', rgb: [220, 40, 40], hz: 440 },
  { name: 'green', rgb: [40, 200, 60], hz: 550 },
];
let lab;
let redis;
const nodes = [];
let browser;
const pages = [];

/** In-page: joins `channel` as a reconnecting E2EE member through `urls` (tries them in turn). */
async function joinReconnectingInPage({ urls, channel, rgb, hz, name }) {
  const { default: Veil } = await import('/sdk/veil.js');
  await Veil.initE2EE();
  const stream = window.makeSmallStream(rgb, hz);
  const m = Veil.connection(urls).reconnecting('sendrecv', channel, null,
    { signalingNotifyMetadata: { name }, e2ee: true, reconnectBaseMs: 200, reconnectMaxMs: 1000 });
  const veil = { m, remote: {}, reconnecting: [], reconnected: [], disconnects: [] };
  window.veil = veil;
  m.on('reconnecting', ev => veil.reconnecting.push({ attempt: ev.attempt, url: ev.url, reason: ev.reason }));
  m.on('reconnected', ev => veil.reconnected.push({ attempts: ev.attempts, url: ev.url, downtimeMs: ev.downtimeMs,
    id: ev.connection.connectionId }));
  m.on('disconnect', ev => veil.disconnects.push(ev));
  veil.e2ee = [];
  m.on('e2ee', ev => veil.e2ee.push(ev.type + (ev.reason ? ':' + ev.reason : '')));
  m.on('track', ev => {
    if (ev.track.kind !== 'video') return;
    const v = document.createElement('video');
    v.muted = true; v.autoplay = true; v.playsInline = true;
    v.srcObject = new MediaStream([ev.track]);
    v.style.cssText = 'width:80px;height:60px';
    document.body.appendChild(v);
    v.play().catch(() => {});
    veil.remote[ev.connectionId] = { video: v };
  });
  await m.connect(stream);
  return { id: m.connectionId, url: m.current.url, redirects: m.current.redirects };
}

/** In-page: who this member is now, and where (with the inbound video stats of its current connection). */
async function stateInPage() {
  const v = window.veil;
  const inbound = [];
  if (v.m.current && v.m.current.pc) {
    (await v.m.current.pc.getStats()).forEach(r => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') {
        inbound.push([r.packetsReceived || 0, r.framesDecoded || 0, r.framesDropped || 0, r.keyFramesDecoded || 0]);
      }
    });
  }
  return { id: v.m.connectionId, url: v.m.current ? v.m.current.url : null, reconnecting: v.reconnecting,
    reconnected: v.reconnected, disconnects: v.disconnects, remote: Object.keys(v.remote), e2ee: v.e2ee.slice(-12),
    inbound, videos: Object.fromEntries(Object.entries(v.remote).map(([k, r]) => [k, [r.video.videoWidth, r.video.readyState]])) };
}

/** The index of the node a signaling URL reaches: its exposed URL, or its own (public) one that redirects name. */
function nodeOf(url) {
  const m = /^ws:\/\/198\.18\.0\.1:(\d+)\/signaling$/.exec(url);
  return nodes.findIndex(n => n.ws === url || (m && n.log().includes(`http ${m[1]} `)));
}

before(async () => {
  lab = await defaultLab();
  const port = 20000 + Math.floor(Math.random() * 20000);
  redis = lab.spawnInHub('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no'], { stdio: 'ignore' });
  await waitFor('redis-server answering in the hub namespace', () => new Promise(resolve => {
    const c = lab.spawnInHub('redis-cli', ['-p', String(port), 'ping'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    c.stdout.on('data', d => { out += d; });
    c.on('exit', () => resolve(out.includes('PONG')));
  }), 10000);
  for (let i = 1; i <= 3; i++) {
    nodes.push(await startServer({ config: `e2ee = true\ncluster { redis_url = "redis://127.0.0.1:${port}", `
      + `node_id = "n${i}", heartbeat_millis = 250, node_ttl_millis = 2000, channel_ttl_millis = 4000, `
      + 'redis_timeout_millis = 1000 }', timeoutMs: 120000 }));
  }
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  for (const n of nodes) await n.stop(); // the killed one has exited already
  if (redis) redis.kill('SIGKILL');
});

/** Waits until page 0 shows `greenId`'s colour and page 1 `redId`'s (decrypted); says what it saw if not. */
async function bothSeeEachOther(what, redId, greenId) {
  await waitFor(what, async () =>
    closeColour(await pages[0].evaluate(remoteColourInPage, greenId), PEERS[1].rgb, 60)
    && closeColour(await pages[1].evaluate(remoteColourInPage, redId), PEERS[0].rgb, 60), 60000)
    .catch(async e => {
      const s = await Promise.all(pages.map(p => p.evaluate(stateInPage)));
      const c = [await pages[0].evaluate(remoteColourInPage, greenId),
        await pages[1].evaluate(remoteColourInPage, redId)];
      throw new Error(`${e.message}; colours ${JSON.stringify(c)}; state ${JSON.stringify(s)}`);
    });
}

test('e2ee members meet by redirect, survive the owner being killed, and decode each other again', async () => {
  const urls = nodes.map(n => n.ws);
  const channel = 'cluster-' + Date.now();
  for (const p of PEERS) pages.push(await openSmallStreamPage(browser, nodes[0].base));
  // red enters through node 1 (and keeps the new channel there), green through node 2 (redirected to node 1)
  const red = await pages[0].evaluate(joinReconnectingInPage, { urls, channel, ...PEERS[0] });
  const green = await pages[1].evaluate(joinReconnectingInPage,
    { urls: [urls[1], urls[2], urls[0]], channel, ...PEERS[1] });
  assert.equal(red.redirects, 0);
  assert.equal(green.redirects, 1, 'green was redirected to the owner');
  assert.equal(nodeOf(red.url), 0, 'a new channel stays on the node reached');
  assert.match(green.url, /^ws:\/\/198\.18\.0\.1:\d+\/signaling$/, 'the owner names its own signaling URL');
  assert.equal(nodeOf(green.url), 0, 'green was sent to the owner');
  await bothSeeEachOther('each page shows the other colour (decrypted)', red.id, green.id);

  const killedAt = Date.now();
  await nodes[0].kill();

  let last = null;
  const after = await waitFor('both pages reconnected to one live node', async () => {
    const s = await Promise.all(pages.map(p => p.evaluate(stateInPage)));
    last = s;
    return s.every(x => x.reconnected.length > 0) && nodeOf(s[0].url) === nodeOf(s[1].url) ? s : null;
  }, 90000).catch(e => { throw new Error(`${e.message}; state ${JSON.stringify(last)}`); });
  await bothSeeEachOther('each page shows the other colour again, from the new connections', after[0].id,
    after[1].id);
  const resumedMs = Date.now() - killedAt;
  const owner = nodeOf(after[0].url);
  assert.ok(owner === 1 || owner === 2, `the channel moved to a live node (${after[0].url})`);
  for (const s of after) {
    assert.ok(s.reconnecting.length >= 1);
    assert.equal(s.disconnects.length, 0, 'no final disconnect while reconnecting works');
  }
  assert.notEqual(after[0].id, red.id);
  assert.notEqual(after[1].id, green.id);
  console.log(`cluster browser proof: owner killed -> both pages show each other decrypted again after ${resumedMs} ms; `
    + `downtime red ${after[0].reconnected[0].downtimeMs} ms, green ${after[1].reconnected[0].downtimeMs} ms`);
});
