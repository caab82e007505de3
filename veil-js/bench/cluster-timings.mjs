// Browser scale-out timings (docs/BENCHMARKS.md "Scale-out on Redis"): redis-server and three veil-server.jar nodes
// (cluster on, the short timings of test/browser/cluster-failover.test.mjs: heartbeat 250 ms, node TTL 2 s) in the
// hub namespace of a netns lab, headless Chromium pages with E2EE (SFrame, the 160x120 test stream).
//   connect, direct vs redirect: a member holds a channel on node A; a second page joins it N times through A
//     (direct) and N times through B (B answers `redirect` to A), interleaved; each time from connect() (E2EE
//     set-up, WebSocket, offer/answer, ICE, DTLS) to its resolution, then disconnect()
//   fail-over: R rounds; two reconnecting members (pages served by the owner) meet in a fresh channel on its owner,
//     the owner is SIGKILLed, and each page reports the first decrypted frame of the other's new connection; the
//     time is kill -> that frame (the later of the two, and each); a new node replaces the killed one
//   mvn -B -q -DskipTests package && cd veil-js && node bench/cluster-timings.mjs [N=20] [R=5]
import { startServer, waitFor } from '../test-support/helpers/server.mjs';
import { launchChromium } from '../test-support/helpers/browser.mjs';
import { defaultLab } from '../test-support/helpers/netns.mjs';
import { openSmallStreamPage, remoteColourInPage, closeColour } from '../test-support/browser/e2ee-pages.mjs';
import { startRedis, clusterConfig } from '../test-support/helpers/cluster.mjs';
import { joinReconnectingInPage, stateInPage } from '../test-support/browser/cluster-pages.mjs';

const N = Number(process.argv[2] || 20);
const R = Number(process.argv[3] || 5);
const RED = { name: 'red', rgb: [220, 40, 40], hz: 440 };
const GREEN = { name: 'green', rgb: [40, 200, 60], hz: 550 };

/** In-page: one E2EE connect through `ws` into `channel`: its duration (ms) and the redirects it followed. */
async function timedConnectInPage({ ws, channel }) {
  const { default: Veil } = await import('/sdk/veil.js');
  const stream = window.benchStream || (window.benchStream = window.makeSmallStream([40, 60, 220], 660));
  const c = Veil.connection(ws).sendrecv(channel, null, { e2ee: true, keyMode: 'sender-keys' });
  const t0 = performance.now();
  await c.connect(stream);
  const ms = performance.now() - t0;
  const redirects = c.redirects;
  await c.disconnect();
  return { ms, redirects };
}

const q = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const fmt = xs => `median ${q(xs, 0.5).toFixed(0)} ms, p90 ${q(xs, 0.9).toFixed(0)}, min ${Math.min(...xs).toFixed(0)}, `
  + `max ${Math.max(...xs).toFixed(0)} (n=${xs.length})`;

const lab = await defaultLab();
const redis = await startRedis(lab);
let nextId = 1;
const startNode = () => startServer({ config: 'e2ee = true\n' + clusterConfig(redis.port, `n${nextId++}`),
  timeoutMs: 120000 });
const live = [await startNode(), await startNode(), await startNode()];
const browser = await launchChromium();
const load = [];
const loadTimer = setInterval(async () => {
  const { loadavg } = await import('node:os');
  load.push(loadavg()[0]);
}, 5000);
try {
  // ---------------------------------------------------------------- connect time, direct vs one redirect
  const [a, b] = live;
  const channel = 'connect-' + Date.now();
  const holder = await openSmallStreamPage(browser, a.base);
  await holder.evaluate(joinReconnectingInPage, { urls: [a.ws], channel, ...RED });
  const page = await openSmallStreamPage(browser, a.base);
  await page.evaluate(timedConnectInPage, { ws: a.ws, channel }); // warm-up (modules, JIT)
  const direct = [];
  const redirected = [];
  for (let i = 0; i < N; i++) {
    const d = await page.evaluate(timedConnectInPage, { ws: a.ws, channel });
    if (d.redirects !== 0) throw new Error('a direct connect was redirected');
    direct.push(d.ms);
    const r = await page.evaluate(timedConnectInPage, { ws: b.ws, channel });
    if (r.redirects !== 1) throw new Error(`a connect through B followed ${r.redirects} redirects`);
    redirected.push(r.ms);
  }
  console.log(`connect (E2EE, to ICE+DTLS up), direct: ${fmt(direct)}`);
  console.log(`connect (E2EE, to ICE+DTLS up), one redirect: ${fmt(redirected)}`);
  await holder.context().close();
  await page.context().close();

  // ---------------------------------------------------------------- fail-over
  const worst = [];
  const each = [];
  const downtimes = [];
  for (let round = 0; round < R; round++) {
    const [owner, other, third] = live;
    const ch = `failover-${round}-${Date.now()}`;
    const pages = [await openSmallStreamPage(browser, owner.base), await openSmallStreamPage(browser, owner.base)];
    const red = await pages[0].evaluate(joinReconnectingInPage, { urls: [owner.ws, other.ws, third.ws], channel: ch, ...RED });
    const green = await pages[1].evaluate(joinReconnectingInPage,
      { urls: [other.ws, third.ws, owner.ws], channel: ch, ...GREEN });
    if (green.redirects !== 1) throw new Error('green was not redirected to the owner');
    const see = (ids) => waitFor('each page shows the other', async () =>
      closeColour(await pages[0].evaluate(remoteColourInPage, ids[1]), GREEN.rgb, 60)
      && closeColour(await pages[1].evaluate(remoteColourInPage, ids[0]), RED.rgb, 60), 90000, 250);
    await see([red.id, green.id]);
    const killedAt = Date.now();
    await owner.kill();
    const back = await waitFor('both reconnected', async () => {
      const s = await Promise.all(pages.map(p => p.evaluate(stateInPage)));
      return s.every(x => x.reconnected.length > 0) ? s : null;
    }, 120000, 250);
    await see([back[0].id, back[1].id]);
    const s = await Promise.all(pages.map(p => p.evaluate(stateInPage)));
    const frames = [s[0].remote[s[1].id][1], s[1].remote[s[0].id][1]].map(t => t - killedAt);
    worst.push(Math.max(...frames));
    each.push(...frames);
    downtimes.push(...s.map(x => x.reconnected[0].downtimeMs));
    console.log(`round ${round + 1}: kill -> first decrypted frame of the other's new connection ${frames.join(' / ')} ms; `
      + `downtime ${s.map(x => x.reconnected[0].downtimeMs).join(' / ')} ms; attempts `
      + `${s.map(x => x.reconnected[0].attempts).join(' / ')}`);
    if (Math.max(...frames) > 6000) { // what a slow round was made of: each attempt, from the kill
      for (const x of s) {
        console.log('  ' + x.reconnecting.map(r => `+${r.at - killedAt} ms attempt ${r.attempt} (after ${r.delayMs} ms) `
          + `to ${r.url.replace(/^ws:\/\//, '')} after: ${r.reason}`).join('\n  ') + `\n  +${x.reconnected[0].at - killedAt} ms reconnected`);
      }
    }
    for (const p of pages) await p.context().close();
    live.shift();
    live.push(await startNode());
  }
  console.log(`fail-over, kill -> both decode each other again: ${fmt(worst)}`);
  console.log(`fail-over, kill -> first decrypted frame, per member: ${fmt(each)}`);
  console.log(`fail-over, each member's downtime (drop -> connected): ${fmt(downtimes)}`);
  console.log(`load average (1 min) during the run: ${Math.min(...load).toFixed(1)}-${Math.max(...load).toFixed(1)}`);
} finally {
  clearInterval(loadTimer);
  await browser.close();
  for (const n of live) await n.stop();
  await redis.stop();
}
