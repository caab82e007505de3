// Clients behind restrictive networks, in Chromium against a real veil-server.jar, in the test's own network lab
// (netns.mjs): with ALL UDP between a browser's namespace and the hub dropped by iptables (both ways),
//   (a) two E2EE pages connect over ICE-TCP (the server's passive TCP candidate, RFC 6544) and decode each other;
//   (b) two E2EE pages forced to relay (iceTransportPolicy 'relay') connect through coturn (turnserver from Debian,
//       started here in the hub with use-auth-secret, reached over TCP) with the TURN REST credentials the server
//       minted for each of them in its offer, and decode each other.
// The selected candidate pair (getStats) proves the path: local tcp (a) / local relay over tcp (b). A control pair
// with UDP open measures the usual path. Each page's connect time (new connection → connect() resolved) is reported
// as a diagnostic; the last test then measures it on warm browsers and a warm server, VEIL_NET_BENCH_ROUNDS rounds
// (default 1) of one lone page per path in rotating order (docs/BENCHMARKS.md, "Connect time over UDP, ICE-TCP and
// TURN").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, waitFor } from '../../test-support/helpers/server.mjs';
import { launchChromium } from '../../test-support/helpers/browser.mjs';
import {
  openSmallStreamPage, joinE2eeInPage, e2eeStatsInPage, remoteColourInPage, closeColour,
} from '../../test-support/browser/e2ee-pages.mjs';

const TURN_BIN = ['/usr/bin/turnserver', '/usr/sbin/turnserver'].find(f => existsSync(f)) || '/usr/bin/turnserver';
const TURN_PORT = 3478;
const TURN_SECRET = 'veil-test-turn-secret-0123456789abcdef';
const PEERS = [
  { name: 'red', rgb: [220, 40, 40], hz: 440 },
  { name: 'green', rgb: [40, 200, 60], hz: 550 },
];
let server;
let turn;
let turnLog = '';
const browsers = [];
const browserOf = {}; // label -> the Chromium (and its namespace) a call ran in
const timings = {};
/** Rounds of the connect-time measurement (docs/BENCHMARKS.md); 1 in the normal run. */
const BENCH_ROUNDS = Math.max(1, Number(process.env.VEIL_NET_BENCH_ROUNDS || 1));

before(async () => {
  if (!existsSync(TURN_BIN)) {
    throw new Error(`${TURN_BIN} is missing: apt-get install coturn (this test cannot be skipped)`);
  }
  server = await startServer({
    config: [
      'e2ee = true',
      'turn {',
      `  urls = ["turn:198.18.0.1:${TURN_PORT}?transport=tcp", "turn:198.18.0.1:${TURN_PORT}?transport=udp"]`,
      `  secret = "${TURN_SECRET}"`,
      '  ttl_seconds = 600',
      '}',
    ].join('\n'),
  });
  // coturn in the hub, on the server's media address: TURN REST credentials (use-auth-secret), no TLS/DTLS, relays
  // allocated on the same address, and the SFU's address allowed as a peer; -v logs the listeners (readiness)
  turn = server.lab.spawnInHub(TURN_BIN, ['-n', '--listening-ip', server.rtcAddress, '--relay-ip', server.rtcAddress,
    '--listening-port', String(TURN_PORT), '--use-auth-secret', `--static-auth-secret=${TURN_SECRET}`,
    '--realm', 'veil.test', '--no-tls', '--no-dtls', '--no-cli', '--fingerprint', '--min-port', '40000',
    '--max-port', '40999', `--allowed-peer-ip=${server.rtcAddress}`, '--log-file', 'stdout', '--simple-log',
    '--no-software-attribute', '-v', '--pidfile', path.join(mkdtempSync(path.join(tmpdir(), 'veil-turn-')), 'pid')],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  turn.stdout.on('data', d => { turnLog += d; });
  turn.stderr.on('data', d => { turnLog += d; });
  await waitFor('turnserver listening on TCP', () => /TCP listener opened on\s*:?\s*198\.18\.0\.1:3478/.test(turnLog)
    || (turn.exitCode !== null && Promise.reject(new Error(`turnserver exited ${turn.exitCode}`))), 20000)
    .catch(e => { throw new Error(`${e.message}; turnserver said:\n${turnLog.slice(-3000)}`); });
});

after(async () => {
  for (const b of browsers) await b.close().catch(() => {});
  if (turn && turn.exitCode === null) turn.kill('SIGTERM');
  if (server) {
    const code = await server.stop();
    assert.ok(code === 0 || code === 143, `veil-server must exit cleanly, got ${code}`);
  }
});

/** In-page: the selected candidate pair of the connection's transport, with both candidates. */
async function selectedPairInPage() {
  const report = await window.veil.conn.pc.getStats();
  let pairId = null;
  report.forEach(s => { if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId; });
  const pair = pairId && report.get(pairId);
  if (!pair) return null;
  const l = report.get(pair.localCandidateId);
  const r = report.get(pair.remoteCandidateId);
  const pick = c => c && { type: c.candidateType, protocol: c.protocol, relayProtocol: c.relayProtocol || null,
    address: c.address || c.ip, port: c.port, tcpType: c.tcpType || null };
  return { state: pair.state, nominated: pair.nominated, local: pick(l), remote: pick(r),
    bytesReceived: pair.bytesReceived };
}

/** In-page: the iceServers the connection was made with (usernames only). */
function iceServersInPage() {
  return window.veil.conn.pc.getConfiguration().iceServers.map(s => ({ urls: s.urls, username: s.username,
    hasCredential: typeof s.credential === 'string' && s.credential.length > 0 }));
}

/**
 * Two pages (each its own browser context) in a new Chromium of its own namespace join `channel` with E2EE; with
 * `blockUdp` every UDP packet between that namespace and the hub is dropped first. Waits until each decodes the
 * other's picture (colour checked) and returns the pages, their ids and selected pairs.
 */
async function call(label, channel, { blockUdp, options }) {
  const browser = await launchChromium({ name: label });
  browsers.push(browser);
  browserOf[label] = browser;
  if (blockUdp) await browser.lab.blockUdp(browser);
  const pages = [await openSmallStreamPage(browser, server.base), await openSmallStreamPage(browser, server.base)];
  const ids = [];
  for (let i = 0; i < 2; i++) {
    const p = PEERS[i];
    ids[i] = await pages[i].evaluate(joinE2eeInPage, { ws: server.ws, channel, rgb: p.rgb, hz: p.hz, name: p.name,
      options: options || {} });
  }
  timings[label] = [];
  for (let i = 0; i < 2; i++) {
    timings[label].push(Math.round(await pages[i].evaluate(() => window.veil.connectedAt - window.veil.t0)));
  }
  for (let i = 0; i < 2; i++) {
    const other = ids[1 - i];
    await waitFor(`${label}: ${PEERS[i].name} decodes ${PEERS[1 - i].name}`, async () => {
      const s = await pages[i].evaluate(e2eeStatsInPage);
      return s[other] && s[other].video && s[other].video.framesDecoded > 20;
    }, 60000);
    let got = null;
    await waitFor(`${label}: ${PEERS[i].name} shows ${PEERS[1 - i].name}'s colour`, async () => {
      got = await pages[i].evaluate(remoteColourInPage, other);
      return closeColour(got, PEERS[1 - i].rgb, 45);
    }, 30000).catch(e => { throw new Error(`${e.message}; got ${JSON.stringify(got)}`); });
  }
  const pairs = [];
  for (const page of pages) pairs.push(await page.evaluate(selectedPairInPage));
  const drops = blockUdp ? await browser.lab.counters(browser) : null;
  return { browser, pages, ids, pairs, drops };
}

test('udp_open_control_call_usesUdpHost', async t => {
  const { pairs } = await call('udp', 'net-udp', { blockUdp: false });
  for (const p of pairs) {
    assert.ok(p && p.local.protocol === 'udp' && p.remote.protocol === 'udp', `UDP pair: ${JSON.stringify(p)}`);
    assert.equal(p.remote.port, server.rtcPort);
  }
  t.diagnostic(`connect ms (udp): ${timings.udp.join(', ')}`);
});

test('udpBlocked_e2eeCall_connectsOverIceTcp_andDecodes', async t => {
  // without the server's TURN entries: with them Chromium may also gather a relay candidate (TURN over TCP) and
  // nominate whichever pair succeeds first; this test proves the server's own ICE-TCP candidate
  const { pairs, drops, pages } = await call('tcp', 'net-tcp', { blockUdp: true,
    options: { serverIceServers: false } });
  for (const p of pairs) {
    assert.ok(p, 'a selected candidate pair');
    assert.equal(p.local.protocol, 'tcp', `local candidate over TCP: ${JSON.stringify(p)}`);
    assert.equal(p.remote.protocol, 'tcp', `remote candidate over TCP: ${JSON.stringify(p)}`);
    assert.equal(p.remote.address, server.rtcAddress);
    assert.ok(p.bytesReceived > 10000, `media came over the TCP pair: ${JSON.stringify(p)}`);
  }
  assert.ok(drops.down.lossDrops.packets + drops.up.lossDrops.packets > 0,
    `UDP was tried and dropped: ${JSON.stringify(drops)}`);
  const offer = await pages[0].evaluate(() => window.veil.conn.pc.remoteDescription.sdp);
  assert.match(offer, /a=candidate:2 1 tcp 1520435199 198\.18\.0\.1 \d+ typ host tcptype passive/);
  t.diagnostic(`connect ms (ICE-TCP, UDP blocked): ${timings.tcp.join(', ')}; pair ${JSON.stringify(pairs[0])}`);
});

test('udpBlocked_relayOnly_e2eeCall_connectsThroughCoturnOverTcp_andDecodes', async t => {
  const { pairs, pages, ids } = await call('turn', 'net-turn', { blockUdp: true,
    options: { iceTransportPolicy: 'relay' } });
  for (const p of pairs) {
    assert.ok(p, 'a selected candidate pair');
    assert.equal(p.local.type, 'relay', `local relay candidate: ${JSON.stringify(p)}`);
    assert.equal(p.local.relayProtocol, 'tcp', `reached the TURN server over TCP: ${JSON.stringify(p)}`);
    assert.equal(p.remote.protocol, 'udp', 'the relay talks UDP to the SFU');
    assert.equal(p.remote.port, server.rtcPort);
    assert.ok(p.bytesReceived > 10000, `media came through the relay: ${JSON.stringify(p)}`);
  }
  for (let i = 0; i < 2; i++) {
    const servers = await pages[i].evaluate(iceServersInPage);
    const turnEntry = servers.find(s => [].concat(s.urls).some(u => u.startsWith('turn:')));
    assert.ok(turnEntry && turnEntry.hasCredential, `TURN server with a credential: ${JSON.stringify(servers)}`);
    const [expiry, member] = turnEntry.username.split(':');
    assert.equal(member, ids[i], 'the TURN username names this connection');
    const ttl = Number(expiry) - Date.now() / 1000;
    assert.ok(ttl > 500 && ttl <= 601, `credential valid for the configured ttl (600 s): ${ttl}`);
  }
  t.diagnostic(`connect ms (TURN over TCP, relay only, UDP blocked): ${timings.turn.join(', ')}; `
    + `pair ${JSON.stringify(pairs[0])}`);
});

test('connectTime_udp_tcp_turn_warm', async t => {
  for (const label of ['udp', 'tcp', 'turn']) assert.ok(browserOf[label], `needs the ${label} call above`);
  // udp and tcp without the server's TURN entries, as in the ICE-TCP call above: with them Chromium may nominate a
  // relay pair (a TURN pair can win the race), which only the turn case measures
  const modes = { udp: { serverIceServers: false }, tcp: { serverIceServers: false },
    turn: { iceTransportPolicy: 'relay' } };
  const order = ['udp', 'tcp', 'turn'];
  const ms = { udp: [], tcp: [], turn: [] };
  for (let r = 0; r < BENCH_ROUNDS; r++) {
    for (let k = 0; k < order.length; k++) {
      const label = order[(r + k) % order.length];
      const page = await openSmallStreamPage(browserOf[label], server.base)
        .catch(e => { throw new Error(`round ${r} ${label}: ${e.message}`); });
      await page.evaluate(joinE2eeInPage, { ws: server.ws, channel: `bench-${label}-${r}`, rgb: PEERS[0].rgb,
        hz: PEERS[0].hz, name: 'bench', options: modes[label] });
      ms[label].push(Math.round(await page.evaluate(() => window.veil.connectedAt - window.veil.t0)));
      const pair = await page.evaluate(selectedPairInPage);
      const want = { udp: p => p.local.protocol === 'udp' && p.local.type !== 'relay',
        tcp: p => p.local.protocol === 'tcp', turn: p => p.local.type === 'relay' && p.local.relayProtocol === 'tcp' };
      await waitFor(`${label} bench page's pair`, async () => {
        const p = await page.evaluate(selectedPairInPage);
        return p && want[label](p) ? p : null;
      }, 30000).catch(e => { throw new Error(`${e.message}; pair ${JSON.stringify(pair)}`); });
      await page.evaluate(() => window.veil.conn.disconnect());
      await page.context().close();
    }
  }
  const med = a => { const b = [...a].sort((x, y) => x - y); return b[Math.floor(b.length / 2)]; };
  for (const label of order) {
    t.diagnostic(`bench connect ms ${label}: median ${med(ms[label])} min ${Math.min(...ms[label])} `
      + `max ${Math.max(...ms[label])} (n=${ms[label].length}): ${ms[label].join(' ')}`);
  }
});
