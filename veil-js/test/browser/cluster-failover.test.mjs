// Scale-out in Chromium (docs/PROTOCOL.md §1.9): a redis-server and three veil-server.jar nodes (cluster on, short
// timings) in the lab's hub namespace. Two E2EE pages join one channel as reconnecting members through different
// nodes: the second is redirected to the owner, and each shows the other's colour (decrypted). The owner is killed
// (SIGKILL): both pages reconnect on their own ('reconnecting', 'reconnected'), land on one live node that took the
// channel over, and show each other's colour again, decrypted under the new connections' keys.
//
// The pages are served by the node that is killed (its demo origin), on purpose: after the kill nothing can be
// fetched from there, and the SDK must not need it. (Before src/reconnect.js kept the member's E2EE worker, each new
// connection started a worker from that origin; its script never loaded and no frame left or arrived.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor } from '../../test-support/helpers/server.mjs';
import { launchChromium } from '../../test-support/helpers/browser.mjs';
import { defaultLab } from '../../test-support/helpers/netns.mjs';
import { openSmallStreamPage, remoteColourInPage, closeColour } from '../../test-support/browser/e2ee-pages.mjs';
import { startRedis, clusterConfig } from '../../test-support/helpers/cluster.mjs';
import { joinReconnectingInPage, stateInPage } from '../../test-support/browser/cluster-pages.mjs';

const PEERS = [
  { name: 'red', rgb: [220, 40, 40], hz: 440 },
  { name: 'green', rgb: [40, 200, 60], hz: 550 },
];
let lab;
let redis;
const nodes = [];
let browser;
const pages = [];

/** The index of the node a signaling URL reaches: its exposed URL, or its own (public) one that redirects name. */
function nodeOf(url) {
  const m = /^ws:\/\/198\.18\.0\.1:(\d+)\/signaling$/.exec(url);
  return nodes.findIndex(n => n.ws === url || (m && n.log().includes(`http ${m[1]} `)));
}

before(async () => {
  lab = await defaultLab();
  redis = await startRedis(lab);
  for (let i = 1; i <= 3; i++) {
    nodes.push(await startServer({ config: 'e2ee = true\n' + clusterConfig(redis.port, `n${i}`), timeoutMs: 120000 }));
  }
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  for (const n of nodes) await n.stop(); // the killed one has exited already
  if (redis) await redis.stop();
});

/** Waits until page 0 shows `greenId`'s colour and page 1 `redId`'s (decrypted); says what it saw if not. */
async function bothSeeEachOther(what, redId, greenId) {
  await waitFor(what, async () =>
    closeColour(await pages[0].evaluate(remoteColourInPage, greenId), PEERS[1].rgb, 60)
    && closeColour(await pages[1].evaluate(remoteColourInPage, redId), PEERS[0].rgb, 60), 90000, 250)
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
  await nodes[0].kill(); // the pages' origin goes with it

  let last = null;
  const back = await waitFor('both pages reconnected to one live node', async () => {
    const s = await Promise.all(pages.map(p => p.evaluate(stateInPage)));
    last = s;
    return s.every(x => x.reconnected.length > 0) && nodeOf(s[0].url) === nodeOf(s[1].url) ? s : null;
  }, 120000, 250).catch(e => { throw new Error(`${e.message}; state ${JSON.stringify(last)}`); });
  await bothSeeEachOther('each page shows the other colour again, from the new connections', back[0].id,
    back[1].id);
  const s = await Promise.all(pages.map(p => p.evaluate(stateInPage)));
  const owner = nodeOf(s[0].url);
  assert.ok(owner === 1 || owner === 2, `the channel moved to a live node (${s[0].url})`);
  assert.equal(nodeOf(s[1].url), owner, 'both on the new owner');
  for (const x of s) {
    assert.ok(x.reconnecting.length >= 1);
    assert.ok(x.reconnected.length >= 1 && x.reconnected.at(-1).id === x.id, 'reconnected, as this connection');
    assert.equal(x.disconnects.length, 0, 'no final disconnect while reconnecting works');
    assert.equal(x.pc, 'connected');
  }
  assert.notEqual(s[0].id, red.id);
  assert.notEqual(s[1].id, green.id);
  const firstFrames = [s[0].remote[s[1].id][1], s[1].remote[s[0].id][1]];
  assert.ok(firstFrames.every(t => t > killedAt), 'frames of the new connections, after the kill');
  console.log(`cluster browser fail-over: owner killed -> first decrypted frame of the other's new connection after `
    + `${firstFrames[0] - killedAt} ms (red) / ${firstFrames[1] - killedAt} ms (green); downtime (drop -> connected) `
    + `red ${s[0].reconnected[0].downtimeMs} ms, green ${s[1].reconnected[0].downtimeMs} ms; attempts `
    + `${s[0].reconnected[0].attempts}/${s[1].reconnected[0].attempts}; reconnects ${s[0].reconnected.length}/`
    + `${s[1].reconnected.length}; E2EE workers per page ${s[0].workers}/${s[1].workers}`);
});
