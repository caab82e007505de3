// TEST ONLY: a network lab for the browser tests, built from Linux network namespaces (needs root, `ip`, `tc`,
// `iptables`; a missing tool or permission is a FAILURE with the fix in the message, never a skip).
//
//   hub namespace  <lab>-hub : lo 127.0.0.1 + 198.18.0.1/32 (the server's media address), no route anywhere else
//   peer namespace <lab>-pK  : lo 127.0.0.1, eth0 198.18.K.2/24, default route via 198.18.K.1
//   veth pair pK (in the hub, 198.18.K.1/24) <-> eth0 (in peer K)
//
// The servers run in the hub, bound to and announcing 198.18.0.1; each browser (or Java client) runs in a peer
// namespace of its own, so its media crosses its own veth pair, where `tc tbf` (rate) and `iptables -m statistic`
// (loss) act on that peer alone. No namespace has a link to the machine's own network: no packet can leave the
// lab, and in every namespace a guard chain drops (and counts) anything sent to an address outside 127.0.0.0/8 and
// 198.18.0.0/15. TCP services are bridged (netns-bridge.mjs) so that the test process (host 127.0.0.1) and every
// peer (its own 127.0.0.1, across its veth) reach a hub service with the same URL, http://127.0.0.1:PORT — a
// secure context for the browser, as the E2EE worker needs.
//
// Teardown: `close()`, and on process exit (even on SIGINT/SIGTERM or a failed test) every process in the lab's
// namespaces is killed and the namespaces deleted (with them the veth pairs, qdiscs and iptables rules). A lab left
// by a process killed with SIGKILL is swept by the next lab created on the machine (its owner's pid is dead).
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const SERVER_ADDRESS = '198.18.0.1';
const BRIDGE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'netns-bridge.mjs');
const PREFIX = 'vlab';
const MAX_PEERS = 250;

function which(name) {
  const dirs = [...(process.env.PATH || '').split(':'), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const d of dirs) if (d && existsSync(path.join(d, name))) return path.join(d, name);
  return null;
}

let tools;
/** The paths of ip, tc, iptables(-restore); throws (never skips) when one is missing or we are not root. */
export function preflight() {
  if (tools) return tools;
  const missing = [];
  const t = {};
  for (const [k, bin, pkg] of [['ip', 'ip', 'iproute2'], ['tc', 'tc', 'iproute2'], ['iptables', 'iptables', 'iptables'],
    ['restore', 'iptables-restore', 'iptables']]) {
    t[k] = which(bin);
    if (!t[k]) missing.push(`${bin} (apt-get install ${pkg})`);
  }
  if (missing.length) {
    throw new Error(`the browser tests run in network namespaces and need ${missing.join(', ')}; they cannot be skipped`);
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('the browser tests create network namespaces (ip netns, veth, tc, iptables) and must run as root; they cannot be skipped');
  }
  tools = t;
  return t;
}

function run(file, args, input) {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { maxBuffer: 1 << 22 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`netns: "${path.basename(file)} ${args.join(' ')}" failed: ${(stderr || err.message).trim()}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin.end(input);
  });
}

function killNamespaceSync(ns) {
  const { ip } = tools;
  try {
    const pids = execFileSync(ip, ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    for (const p of pids.split(/\s+/).filter(Boolean)) {
      try { process.kill(Number(p), 'SIGKILL'); } catch { /* already gone */ }
    }
  } catch { /* no such namespace */ }
  try { execFileSync(ip, ['netns', 'del', ns], { stdio: 'ignore' }); } catch { /* already deleted */ }
  rmSync(path.join('/etc/netns', ns), { recursive: true, force: true });
}

/**
 * `ip netns exec NS` bind-mounts /etc/netns/NS/* over /etc/*: the lab's processes get a resolver on their own
 * 127.0.0.1 (nothing listens: a lookup fails at once, inside the namespace) instead of the machine's.
 */
function writeEtc(ns) {
  const dir = path.join('/etc/netns', ns);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'resolv.conf'), 'nameserver 127.0.0.1\n');
}

/** Deletes labs whose owning process is dead (left by a test run killed with SIGKILL). */
function sweepStale() {
  const list = execFileSync(tools.ip, ['netns', 'list'], { encoding: 'utf8' });
  for (const line of list.split('\n')) {
    const m = new RegExp(`^(${PREFIX}(\\d+)-\\d+-\\S+)`).exec(line.trim());
    if (!m) continue;
    const pid = Number(m[2]);
    let alive = true;
    try { process.kill(pid, 0); } catch (e) { alive = e.code !== 'ESRCH'; }
    if (!alive) killNamespaceSync(m[1]);
  }
}

const labs = new Set();
let hooked = false;
function hookExit() {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => { for (const lab of labs) lab.destroySync(); });
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
    process.once(sig, () => { for (const lab of labs) lab.destroySync(); process.exit(code); });
  }
}

/** A child of ours in a namespace, with an IPC channel to a netns-bridge.mjs. */
class Bridge {
  constructor(child, lab) {
    this.child = child;
    this.seq = 0;
    this.pending = new Map();
    child.on('message', (m, handle) => {
      if (m.reverse !== undefined) { lab.acceptReverse(m.reverse, handle); return; }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) child.channel.unref(); // an idle bridge does not keep the test process alive
      if (m.error) p.reject(new Error(`netns bridge: ${m.error}`)); else p.resolve(m);
    });
    child.on('exit', code => {
      for (const p of this.pending.values()) p.reject(new Error(`netns bridge exited with ${code}`));
      this.pending.clear();
    });
  }

  static async start(lab, ns) {
    const child = lab.spawnIn(ns, process.execPath, [BRIDGE], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise((resolve, reject) => {
      child.once('message', m => (m.ready ? resolve() : reject(new Error('netns bridge: bad hello'))));
      child.once('exit', code => reject(new Error(`netns bridge in ${ns} exited with ${code}`)));
    });
    child.unref();
    child.channel.unref();
    return new Bridge(child, lab);
  }

  request(msg, handle) {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.channel.ref();
      this.child.send({ ...msg, id }, handle);
    });
  }
}

export class Lab {
  constructor(id) {
    this.id = id;
    this.hubNs = `${id}-hub`;
    this.serverAddress = SERVER_ADDRESS;
    this.peers = [];
    this.exposed = []; // {hostPort, hubSidePort}
    this.hostServices = []; // ports of this process's namespace reachable from every peer
    this.children = new Set();
    this.closed = false;
  }

  /** Creates the hub namespace (its lo carries 198.18.0.1) and its bridge. */
  async init() {
    const { ip } = tools;
    await run(ip, ['netns', 'add', this.hubNs]);
    labs.add(this);
    writeEtc(this.hubNs);
    await run(ip, ['-n', this.hubNs, 'link', 'set', 'lo', 'up']);
    await run(ip, ['-n', this.hubNs, 'addr', 'add', `${SERVER_ADDRESS}/32`, 'dev', 'lo']);
    // no IPv6 (nothing but our IPv4 plan), and ARP asks with the address of the veth's own subnet
    await this.sysctl(this.hubNs, ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1',
      'net.ipv4.conf.all.arp_announce=2', 'net.ipv4.conf.default.arp_announce=2']);
    await this.installGuard(this.hubNs, []);
    this.hub = await Bridge.start(this, this.hubNs);
    return this;
  }

  sysctl(ns, kv) {
    return run(tools.ip, ['netns', 'exec', ns, which('sysctl') || '/usr/sbin/sysctl', '-q', '-w', ...kv]);
  }

  /**
   * The guard chain: OUTPUT to anything but 127.0.0.0/8, 198.18.0.0/15 and link-local multicast 224.0.0.0/24 (TTL
   * 1, never routed: it stays on the lab's veth; Chromium's mDNS responder joins 224.0.0.251) is dropped and counted.
   */
  installGuard(ns, extra) {
    const rules = ['*filter', ':veil-guard - [0:0]', ...extra.filter(l => l.startsWith(':')),
      '-A OUTPUT -j veil-guard', ...extra.filter(l => !l.startsWith(':')),
      '-A veil-guard -d 127.0.0.0/8 -j RETURN', '-A veil-guard -d 198.18.0.0/15 -j RETURN',
      '-A veil-guard -d 224.0.0.0/24 -j RETURN', '-A veil-guard -j DROP',
      'COMMIT', ''];
    return run(tools.ip, ['netns', 'exec', ns, tools.restore, '-w'], rules.join('\n'));
  }

  /** Spawns `cmd args` inside namespace `ns` (`ip netns exec` execs, so the child's pid is the command's). */
  spawnIn(ns, cmd, args, opts = {}) {
    const name = typeof ns === 'string' ? ns : ns.ns;
    const child = spawn(tools.ip, ['netns', 'exec', name, cmd, ...args], opts);
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  spawnInHub(cmd, args, opts) { return this.spawnIn(this.hubNs, cmd, args, opts); }

  /**
   * A new peer namespace (for one browser or client): veth pair hub `pK` 198.18.K.1/24 <-> peer `eth0`
   * 198.18.K.2/24, default route via the hub, the guard chain, empty loss chains, and a bridge that forwards every
   * exposed port (127.0.0.1:PORT in the peer) to the hub across the veth pair.
   */
  async addPeer(name = 'peer') {
    if (this.closed) throw new Error('netns: lab is closed');
    const k = this.peers.length + 1;
    if (k > MAX_PEERS) throw new Error(`netns: at most ${MAX_PEERS} peers in a lab`);
    const { ip } = tools;
    const peer = { lab: this, name, index: k, ns: `${this.id}-p${k}`, hubIf: `p${k}`, peerIf: 'eth0',
      address: `198.18.${k}.2`, gateway: `198.18.${k}.1` };
    await run(ip, ['netns', 'add', peer.ns]);
    this.peers.push(peer);
    writeEtc(peer.ns);
    await run(ip, ['-n', peer.ns, 'link', 'set', 'lo', 'up']);
    await this.sysctl(peer.ns, ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    await run(ip, ['-n', this.hubNs, 'link', 'add', peer.hubIf, 'type', 'veth', 'peer', 'name', peer.peerIf, 'netns', peer.ns]);
    await run(ip, ['-n', this.hubNs, 'addr', 'add', `${peer.gateway}/24`, 'dev', peer.hubIf]);
    await run(ip, ['-n', this.hubNs, 'link', 'set', peer.hubIf, 'up']);
    await run(ip, ['-n', peer.ns, 'addr', 'add', `${peer.address}/24`, 'dev', peer.peerIf]);
    await run(ip, ['-n', peer.ns, 'link', 'set', peer.peerIf, 'up']);
    await run(ip, ['-n', peer.ns, 'route', 'add', 'default', 'via', peer.gateway]);
    // loss is applied where packets arrive (INPUT), so it is silent to the sender, as on a real link (a DROP in the
    // sender's own OUTPUT would fail its sendto with EPERM)
    await this.installGuard(peer.ns, [':veil-loss-down - [0:0]', `-A INPUT -i ${peer.peerIf} -j veil-loss-down`]);
    await run(ip, ['netns', 'exec', this.hubNs, tools.restore, '-w', '--noflush'],
      ['*filter', `:veil-loss-up-${peer.hubIf} - [0:0]`, `-A INPUT -i ${peer.hubIf} -j veil-loss-up-${peer.hubIf}`, 'COMMIT', ''].join('\n'));
    peer.bridge = await Bridge.start(this, peer.ns);
    for (const e of this.exposed) await this.forwardPeer(peer, e);
    for (const port of this.hostServices) await this.reversePeer(peer, port);
    return peer;
  }

  forwardPeer(peer, e) {
    return peer.bridge.request({ op: 'forward', listen: { host: '127.0.0.1', port: e.hostPort },
      to: { host: SERVER_ADDRESS, port: e.hubSidePort } });
  }

  /**
   * Makes the hub's TCP service on 127.0.0.1:hubPort (or on every address) reachable as 127.0.0.1:P from the test
   * process and from every peer (present and future); returns P.
   */
  async expose(hubPort) {
    const hubSide = await this.hub.request({ op: 'forward', listen: { host: SERVER_ADDRESS, port: 0 },
      to: { host: '127.0.0.1', port: hubPort } });
    const portal = net.createServer();
    await new Promise((resolve, reject) => { portal.once('error', reject); portal.listen(0, '127.0.0.1', resolve); });
    const hostPort = portal.address().port;
    await this.hub.request({ op: 'forward', to: { host: '127.0.0.1', port: hubPort } }, portal);
    portal.close(); // the bridge holds its own copy of the listening socket
    const e = { hostPort, hubSidePort: hubSide.port, hubPort };
    this.exposed.push(e);
    for (const p of this.peers) await this.forwardPeer(p, e);
    return hostPort;
  }

  /**
   * Makes a TCP service of the test process's own namespace, 127.0.0.1:port (e.g. a page server of the test), reachable
   * as 127.0.0.1:port in every peer (present and future): the peer's bridge accepts there and passes each connection
   * to this process, which pipes it to the service.
   */
  async exposeHost(port) {
    this.hostServices.push(port);
    for (const p of this.peers) await this.reversePeer(p, port);
  }

  /**
   * Makes a TCP service on 127.0.0.1:port inside a peer's namespace (e.g. the remote-control port of a browser
   * launched there) reachable as 127.0.0.1:P from the test process; returns P.
   */
  async exposePeer(target, port) {
    const peer = this.peer(target);
    const portal = net.createServer();
    await new Promise((resolve, reject) => { portal.once('error', reject); portal.listen(0, '127.0.0.1', resolve); });
    const hostPort = portal.address().port;
    await peer.bridge.request({ op: 'forward', to: { host: '127.0.0.1', port } }, portal);
    portal.close(); // the peer's bridge holds its own copy of the listening socket
    return hostPort;
  }

  reversePeer(peer, port) {
    return peer.bridge.request({ op: 'reverse', key: port, listen: { host: '127.0.0.1', port } });
  }

  acceptReverse(port, sock) {
    if (!sock) return;
    const up = net.connect(port, '127.0.0.1');
    const kill = () => { sock.destroy(); up.destroy(); };
    sock.on('error', kill);
    up.on('error', kill);
    sock.on('close', () => up.destroy());
    up.on('close', () => sock.destroy());
    sock.pipe(up);
    up.pipe(sock);
    sock.resume();
  }

  /** A peer from a Peer, a browser launched into the lab, or a peer name. */
  peer(target) {
    if (target && target.ns && target.lab === this) return target;
    const p = peerOfBrowser.get(target) || this.peers.find(q => q.name === target);
    if (!p || p.lab !== this) throw new Error(`netns: ${target} is not a peer of lab ${this.id}`);
    return p;
  }

  sides(peer, direction) {
    // ns/dev: the sending end of the veth (tc); lossNs/chain: where the loss rule drops arriving packets
    const down = { dir: 'down', ns: this.hubNs, dev: peer.hubIf, lossNs: peer.ns, chain: 'veil-loss-down' };
    const up = { dir: 'up', ns: peer.ns, dev: peer.peerIf, lossNs: this.hubNs, chain: `veil-loss-up-${peer.hubIf}` };
    if (direction === 'down') return [down];
    if (direction === 'up') return [up];
    if (direction === 'both') return [down, up];
    throw new Error(`netns: direction must be down, up or both, not ${direction}`);
  }

  /**
   * Limits a peer's link to `kbit` kbit/s with a token bucket (tc tbf) on the veth end that sends: 'down' = the
   * hub's end (toward the peer), 'up' = the peer's end. The bucket holds 20 ms of the rate (at least two full
   * frames) and the queue at most `latencyMs` of it; what does not fit is dropped, as on a congested link.
   */
  async setRate(target, kbit, { direction = 'both', latencyMs = 300 } = {}) {
    if (!(kbit > 0)) throw new Error(`netns: rate must be > 0 kbit/s, not ${kbit}`);
    const burst = Math.max(3028, Math.round(kbit * 125 * 0.02));
    for (const s of this.sides(this.peer(target), direction)) {
      await run(tools.tc, ['-n', s.ns, 'qdisc', 'replace', 'dev', s.dev, 'root', 'tbf', 'rate', `${kbit}kbit`,
        'burst', String(burst), 'latency', `${latencyMs}ms`]);
    }
  }

  /**
   * Drops `fraction` of a peer's packets with `iptables -m statistic`: mode 'random' (independent per packet) or
   * 'nth' (exactly every round(1/fraction)-th). 'down' drops packets toward the peer as they arrive in its
   * namespace, 'up' packets from it as they arrive in the hub: they have crossed the veth (and its rate limit), and
   * the sender sees no error, as on a lossy link. Only `protocol` (udp by default: the media; signaling keeps TCP).
   */
  async setLoss(target, fraction, { direction = 'down', mode = 'random', protocol = 'udp' } = {}) {
    if (!(fraction >= 0 && fraction < 1)) throw new Error(`netns: loss must be in [0, 1), not ${fraction}`);
    for (const s of this.sides(this.peer(target), direction)) {
      await this.iptables(s.lossNs, ['-F', s.chain]);
      if (fraction === 0) continue;
      const stat = mode === 'random' ? ['--mode', 'random', '--probability', String(fraction)]
        : mode === 'nth' ? ['--mode', 'nth', '--every', String(Math.round(1 / fraction)), '--packet', '0']
          : null;
      if (!stat) throw new Error(`netns: loss mode must be random or nth, not ${mode}`);
      await this.iptables(s.lossNs, ['-A', s.chain, '-p', protocol, '-m', 'statistic', ...stat, '-j', 'DROP']);
    }
  }

  /**
   * Blocks all UDP between a peer and the hub, both ways (a network that lets only TCP through: the browser must use
   * ICE-TCP or TURN over TCP). Replaces any loss on the peer; `clear` lifts it. The DROPs count in `counters().lossDrops`.
   */
  async blockUdp(target) {
    for (const s of this.sides(this.peer(target), 'both')) {
      await this.iptables(s.lossNs, ['-F', s.chain]);
      await this.iptables(s.lossNs, ['-A', s.chain, '-p', 'udp', '-j', 'DROP']);
    }
  }

  /** Removes a peer's rate limits and loss in both directions. */
  async clear(target) {
    const peer = this.peer(target);
    for (const s of this.sides(peer, 'both')) {
      const q = await this.qdisc(s);
      if (q) await run(tools.tc, ['-n', s.ns, 'qdisc', 'del', 'dev', s.dev, 'root']);
      await this.iptables(s.lossNs, ['-F', s.chain]);
    }
  }

  iptables(ns, args) { return run(tools.ip, ['netns', 'exec', ns, tools.iptables, '-w', ...args]); }

  async qdisc(s) {
    const out = JSON.parse(await run(tools.tc, ['-n', s.ns, '-s', '-j', 'qdisc', 'show', 'dev', s.dev]));
    const q = out.find(x => x.kind === 'tbf');
    return q ? { kind: q.kind, bytes: q.bytes, packets: q.packets, drops: q.drops, overlimits: q.overlimits } : null;
  }

  /** Packet/byte counters of the DROP rules in `chain` (the loss rule, the guard's last rule). */
  async dropCounters(ns, chain) {
    const out = await this.iptables(ns, ['-vxnL', chain]);
    let packets = 0;
    let bytes = 0;
    for (const line of out.split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f[2] === 'DROP') { packets += Number(f[0]); bytes += Number(f[1]); }
    }
    return { packets, bytes };
  }

  async linkTx(ns, dev) {
    const [l] = JSON.parse(await run(tools.ip, ['-n', ns, '-s', '-j', 'link', 'show', 'dev', dev]));
    const tx = l.stats64 ? l.stats64.tx : l.stats.tx;
    return { bytes: tx.bytes, packets: tx.packets };
  }

  /**
   * Counters of a peer's path, per direction: `link` = what the sending veth end sent (tx), `qdisc` = the tbf's own
   * counters (null when no rate is set), `lossDrops` = packets the loss rule dropped on arrival.
   */
  async counters(target) {
    const peer = this.peer(target);
    const out = {};
    for (const s of this.sides(peer, 'both')) {
      out[s.dir] = { link: await this.linkTx(s.ns, s.dev), qdisc: await this.qdisc(s),
        lossDrops: await this.dropCounters(s.lossNs, s.chain) };
    }
    return out;
  }

  /** Packets each namespace tried to send outside 127.0.0.0/8 and 198.18.0.0/15 (dropped by the guard). */
  async strays() {
    const out = {};
    for (const ns of [this.hubNs, ...this.peers.map(p => p.ns)]) out[ns] = (await this.dropCounters(ns, 'veil-guard')).packets;
    return out;
  }

  /** Sends datagrams from `from` (a peer, or the hub when omitted) to host:port, e.g. garbage at the server. */
  async sendUdp(payloads, host, port, from) {
    const bridge = from ? this.peer(from).bridge : this.hub;
    return bridge.request({ op: 'udp', to: { host, port }, payloads: payloads.map(b => Buffer.from(b).toString('base64')) });
  }

  /** Kills every process in the lab's namespaces and deletes them (veth pairs, qdiscs, rules go with them). */
  destroySync() {
    if (this.closed) return;
    this.closed = true;
    labs.delete(this);
    for (const c of this.children) { try { c.kill('SIGKILL'); } catch { /* gone */ } }
    for (const p of this.peers) killNamespaceSync(p.ns);
    killNamespaceSync(this.hubNs);
  }

  async close() { this.destroySync(); }
}

const peerOfBrowser = new WeakMap();
/** Records that `browser` runs in `peer` (so setRate(browser, ...) finds its link). */
export function registerBrowser(browser, peer) { peerOfBrowser.set(browser, peer); }

let seq = 0;
/** A new lab (hub namespace, no peers yet). */
export async function createLab() {
  preflight();
  hookExit();
  sweepStale();
  const lab = new Lab(`${PREFIX}${process.pid}-${++seq}`);
  try {
    return await lab.init();
  } catch (e) {
    lab.destroySync();
    killNamespaceSync(lab.hubNs);
    throw e;
  }
}

let shared;
/** The lab shared by everything in this process that is not given one (servers, browsers, Java clients). */
export function defaultLab() {
  if (!shared) shared = createLab();
  return shared;
}
