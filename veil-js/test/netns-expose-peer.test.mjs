// lab.exposePeer (test-support/helpers/netns.mjs): a TCP service listening on 127.0.0.1 inside a peer's namespace
// (such as Firefox's WebDriver BiDi port) is reachable from the test process as 127.0.0.1:P, and only that peer's
// service: the same port in another peer is a different service. Needs root, ip, tc and iptables (a failure, not a
// skip, without them).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createLab } from '../test-support/helpers/netns.mjs';

const labs = [];
after(async () => { for (const l of labs) await l.close(); });

/** Starts, inside `peer`, a TCP server on 127.0.0.1:port that answers every connection with `reply` and closes. */
async function serveIn(lab, peer, port, reply) {
  const code = `require('net').createServer(s => s.end(${JSON.stringify(reply)})).listen(${port}, '127.0.0.1', () => console.log('up'))`;
  const child = lab.spawnIn(peer, process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', c => reject(new Error(`server in ${peer.ns} exited with ${c}`)));
  });
  return child;
}

function fetchText(port) {
  return new Promise((resolve, reject) => {
    let out = '';
    const s = net.connect(port, '127.0.0.1');
    s.on('data', d => { out += d; });
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

test('exposePeer_reachesTheServiceOnThatPeersLoopback_only', async () => {
  const lab = await createLab();
  labs.push(lab);
  const a = await lab.addPeer('a');
  const b = await lab.addPeer('b');
  // the same port on each peer's own 127.0.0.1: two different services
  await serveIn(lab, a, 47001, 'from a');
  await serveIn(lab, b, 47001, 'from b');
  const pa = await lab.exposePeer(a, 47001);
  const pb = await lab.exposePeer('b', 47001);
  assert.notEqual(pa, pb);
  assert.equal(await fetchText(pa), 'from a');
  assert.equal(await fetchText(pb), 'from b');
  assert.equal(await fetchText(pa), 'from a', 'a second connection works too');
  await assert.rejects(lab.exposePeer('nobody', 47001), /not a peer/);
});
