// The network lab of the browser tests (test-support/helpers/netns.mjs), without a browser: its namespaces, veth
// pairs, per-peer loss and rate, counters, bridges and teardown. Needs root, ip, tc and iptables (a failure, not a
// skip, without them). Every datagram goes from the hub to a peer's 198.18.K.2 (no listener there: the peer's
// kernel answers with ICMP, inside the lab).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLab, preflight } from '../test-support/helpers/netns.mjs';
import { waitFor } from '../test-support/helpers/server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const namespaces = () => execFileSync(preflight().ip, ['netns', 'list'], { encoding: 'utf8' });
const labs = [];
after(async () => { for (const l of labs) await l.close(); });

async function newLab() {
  const lab = await createLab();
  labs.push(lab);
  return lab;
}

const datagrams = n => Array.from({ length: n }, (_, i) => Buffer.alloc(1000, i));

test('netns_peersHaveTheirOwnVeth_nthLossDropsExactlyItsShare_onThatPeerOnly', async () => {
  const lab = await newLab();
  const a = await lab.addPeer('a');
  const b = await lab.addPeer('b');
  assert.equal(a.address, '198.18.1.2');
  assert.equal(b.address, '198.18.2.2');
  await lab.setLoss(a, 0.5, { direction: 'down', mode: 'nth' });
  const a0 = await lab.counters(a);
  const b0 = await lab.counters(b);
  await lab.sendUdp(datagrams(40), a.address, 9);
  const a1 = await waitFor('40 datagrams arrived at a', async () => {
    const c = await lab.counters(a);
    return c.down.link.packets - a0.down.link.packets >= 40 ? c : null;
  }, 10000);
  const b1 = await lab.counters(b);
  assert.equal(a1.down.lossDrops.packets - a0.down.lossDrops.packets, 20, 'every 2nd of 40 datagrams dropped');
  assert.ok(a1.down.link.packets - a0.down.link.packets >= 40, 'all 40 crossed a\'s veth (dropped on arrival)');
  assert.ok(a1.down.link.bytes - a0.down.link.bytes >= 40 * 1000);
  assert.equal(b1.down.lossDrops.packets, 0);
  assert.ok(b1.down.link.packets - b0.down.link.packets < 5, 'nothing of it on b\'s veth');
  await lab.clear(a);
  await lab.sendUdp(datagrams(10), a.address, 9);
  await waitFor('10 more datagrams arrived at a', async () => (await lab.counters(a)).down.link.packets - a1.down.link.packets >= 10, 10000);
  assert.equal((await lab.counters(a)).down.lossDrops.packets, 0, 'clear removed the loss rule');
  assert.deepEqual(Object.values(await lab.strays()), [0, 0, 0]);
});

test('netns_setRate_putsATokenBucketOnThePeersVeth_thatCountsWhatItCarries_clearRemovesIt', async () => {
  const lab = await newLab();
  const a = await lab.addPeer('a');
  assert.equal((await lab.counters(a)).down.qdisc, null);
  await lab.setRate(a, 2000, { direction: 'both' });
  const c0 = await lab.counters(a);
  assert.equal(c0.down.qdisc.kind, 'tbf');
  assert.equal(c0.up.qdisc.kind, 'tbf');
  await lab.sendUdp(datagrams(30), a.address, 9);
  // 30 kB at 2 Mbit/s is 120 ms: the bucket carries them all (its queue holds 300 ms), then counts them as sent
  const c1 = await waitFor('the tbf carried the datagrams', async () => {
    const c = await lab.counters(a);
    return c.down.qdisc.packets - c0.down.qdisc.packets >= 30 ? c : null;
  }, 10000);
  assert.equal(c1.down.qdisc.drops, 0);
  assert.ok(c1.up.qdisc.packets >= 1, 'the peer\'s answers (ICMP) went through its own bucket');
  await lab.clear(a);
  const c2 = await lab.counters(a);
  assert.equal(c2.down.qdisc, null);
  assert.equal(c2.up.qdisc, null);
  await assert.rejects(lab.setRate(a, 0), /rate must be > 0/);
  await assert.rejects(lab.setLoss(a, 1), /loss must be in \[0, 1\)/);
  await assert.rejects(lab.setLoss(a, 0.1, { direction: 'sideways' }), /direction must be/);
});

test('netns_exposeHost_aServiceOfTheTestProcess_isReachableFromAPeer_atTheSameUrl', async () => {
  const lab = await newLab();
  const server = http.createServer((req, res) => res.end(`hello ${req.url}`));
  await new Promise(r => server.listen(0, '127.0.0.1', r));
  try {
    const port = server.address().port;
    await lab.exposeHost(port);
    const a = await lab.addPeer('a'); // a peer added after exposeHost gets it too
    const child = lab.spawnIn(a, process.execPath, ['-e',
      `fetch('http://127.0.0.1:${port}/x').then(r => r.text()).then(t => console.log(t), e => { console.error(e); process.exit(1); })`],
    { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', d => { out += d; });
    const code = await new Promise(r => child.on('exit', r));
    assert.equal(code, 0);
    assert.equal(out.trim(), 'hello /x');
  } finally {
    server.close();
  }
});

test('netns_close_deletesTheNamespaces_andALabLeftByAKilledProcessIsSweptByTheNext', async () => {
  const lab = await newLab();
  const a = await lab.addPeer('a');
  assert.match(namespaces(), new RegExp(a.ns));
  await lab.close();
  assert.doesNotMatch(namespaces(), new RegExp(`${lab.id}-`));
  assert.equal(existsSync(path.join('/etc/netns', a.ns)), false);

  // a process that builds a lab and is then killed with SIGKILL (no exit handler runs)
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    import { createLab } from ${JSON.stringify(path.join(here, '../test-support/helpers/netns.mjs'))};
    const lab = await createLab(); await lab.addPeer('x'); console.log(lab.id); setInterval(() => {}, 1000);`],
  { stdio: ['ignore', 'pipe', 'inherit'] });
  const id = await new Promise((resolve, reject) => {
    child.stdout.once('data', d => resolve(String(d).trim()));
    child.once('exit', c => reject(new Error(`child exited with ${c}`)));
  });
  child.kill('SIGKILL');
  await new Promise(r => child.on('exit', r));
  assert.match(namespaces(), new RegExp(`${id}-hub`), 'SIGKILL left the lab behind');
  await newLab(); // sweeps labs whose owner is dead
  assert.doesNotMatch(namespaces(), new RegExp(`${id}-`));
});
