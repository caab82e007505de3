// Spawns the Java SDK's example participant dev.veil.client.example.Echo from veil-client-all.jar (built by
// `mvn package`) and parses what it prints on stdout:
//   connected: ID fingerprint FP        member ID fingerprint FP        verification code: CODE
//   e2ee SOURCE error from ID: REASON [(+N more)]        connection.created ID        disconnected: REASON
//   device fingerprint FP        member ID device FP                      (with deviceKey: --device-key FILE)
//   mls epoch E members ID,ID code: CODE                                   (MLS key mode: the default, or --mls)
//   video key WxH from ID        receive stats Counts[name=N, ...]          (received video; maxHeight: --max-height)
// Each client runs in a peer namespace of its own in the netns.mjs lab (the shared one unless `lab`/`peer` is given),
// so its media crosses a veth pair to the server in the lab's hub like a browser's.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { defaultLab } from './netns.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const CLIENT_JAR = path.resolve(here, '../../../veil-client/target/veil-client-all.jar');

const running = new Set();
// last resort if a test crashes before its after hook: never leave a JVM behind
process.on('exit', () => { for (const c of running) c.kill('SIGKILL'); });

/**
 * A test file's after hook with Java clients: stops every Echo (or Churn) in `echoes`, closes the browser and stops
 * the server — all of them first, so a failed check never leaves Chromium, a JVM or the server running — then
 * asserts that each stopped cleanly (an Echo on SIGTERM: 0, 143 or 'SIGTERM'; the server: 0 or 143).
 */
export async function stopAllAndCheck({ echoes = [], browser = null, server = null }) {
  const codes = [];
  for (const e of echoes) if (e) codes.push(await e.stop());
  if (browser) await browser.close();
  const serverCode = server ? await server.stop() : 0;
  for (const c of codes) assert.ok(c === 0 || c === 143 || c === 'SIGTERM', `Echo must stop on SIGTERM, got ${c}`);
  assert.ok(serverCode === 0 || serverCode === 143, `veil-server must exit cleanly, got ${serverCode}`);
}

/** Spawns `java args` in `peer`, or in a new peer of `lab` (default: the shared lab). */
async function spawnJava(args, { lab, peer, name, stdin = 'ignore' }) {
  const p = peer || await (lab || await defaultLab()).addPeer(name);
  return p.lab.spawnIn(p, 'java', args, { stdio: [stdin, 'pipe', 'pipe'] });
}

/**
 * @param {{ws: string, channel: string, plain?: boolean, screen?: string, maxHeight?: number, lab?: object,
 *   peer?: object}} opts `screen`: an IVF file of VP8 frames Echo shares, looped, on its screen-share track
 *   (--screen); `maxHeight`: the received video's height limit (--max-height), changed with `command('max-height N')`;
 *   `noFeedback`: no transport-cc/REMB (--without-congestion-feedback: layers by the limit alone)
 * @returns {Promise<{pid: number, state: {id: string|null, fingerprint: string|null, codes: string[],
 *   members: Record<string, string>, errors: {source: string, from: string, reason: string, count: number}[],
 *   disconnected: string|null, exitCode: number|null}, output: () => string, stop: () => Promise<number|string|null>}>}
 */
export async function spawnEcho({ ws, channel, plain = false, deviceKey = null, passphrase = null, screen = null,
  mls = false, senderKeys = false, mlsExternalSender = false, maxHeight = null,
  noFeedback = false, lab, peer }) {
  if (!existsSync(CLIENT_JAR)) {
    throw new Error(`${CLIENT_JAR} is missing: run "mvn -B -DskipTests package" first (veil-client builds it with the shade plugin)`);
  }
  const args = ['-cp', CLIENT_JAR, 'dev.veil.client.example.Echo', ws, channel, ...(plain ? ['--plain'] : []),
    ...(deviceKey ? ['--device-key', deviceKey] : []), ...(passphrase ? ['--passphrase', passphrase] : []),
    ...(screen ? ['--screen', screen] : []), ...(mls ? ['--mls'] : []), ...(senderKeys ? ['--sender-keys'] : []),
    ...(mlsExternalSender ? ['--mls-external-sender'] : []),
    ...(maxHeight !== null ? ['--max-height', String(maxHeight)] : []),
    ...(noFeedback ? ['--without-congestion-feedback'] : [])];
  const child = await spawnJava(args, { lab, peer, name: 'echo', stdin: maxHeight !== null ? 'pipe' : 'ignore' });
  running.add(child);
  const state = { id: null, fingerprint: null, codes: [], members: {}, errors: [], disconnected: null, exitCode: null,
    device: null, memberDevices: {}, mls: [], videoKeys: [], receiveStats: null };
  let out = '';
  let err = '';
  let partial = '';
  const exited = new Promise(resolve => child.on('exit', (code, signal) => {
    running.delete(child);
    state.exitCode = code !== null ? code : signal;
    resolve(state.exitCode);
  }));
  child.stderr.on('data', d => { err += d; });
  child.stdout.on('data', d => {
    out += d;
    const lines = (partial + d).split('\n');
    partial = lines.pop();
    for (const line of lines) parseLine(state, line.trim());
  });
  return {
    pid: child.pid,
    state,
    output: () => `--- Echo stdout\n${out}--- Echo stderr\n${err}`,
    /** A line on Echo's standard input (with maxHeight): "max-height N". */
    command: line => child.stdin.write(line + '\n'),
    /** SIGTERM (the shutdown hook closes the connection), SIGKILL after 5 s; the exit code or signal. */
    async stop() {
      if (state.exitCode !== null) return state.exitCode;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}

function parseLine(state, line) {
  let m;
  if ((m = /^connected: (\S+)(?: fingerprint (.+)| \(plain\))?$/.exec(line))) {
    state.id = m[1];
    state.fingerprint = m[2] || null;
  } else if ((m = /^device fingerprint (.+)$/.exec(line))) {
    state.device = m[1];
  } else if ((m = /^member (\S+) device (.+)$/.exec(line))) {
    state.memberDevices[m[1]] = m[2];
  } else if ((m = /^member (\S+) fingerprint (.+)$/.exec(line))) {
    state.members[m[1]] = m[2];
  } else if ((m = /^mls epoch (\d+) members (\S*) code: (.+)$/.exec(line))) {
    state.mls.push({ epoch: Number(m[1]), members: m[2] ? m[2].split(',') : [], code: m[3] });
  } else if ((m = /^verification code: (.+)$/.exec(line))) {
    state.codes.push(m[1]);
  } else if ((m = /^e2ee (\S+) error from (\S+): (\S+)(?: \(\+(\d+) more\))?/.exec(line))) {
    state.errors.push({ source: m[1], from: m[2], reason: m[3], count: 1 + Number(m[4] || 0) });
  } else if ((m = /^data from (\S+)( \(direct\))?: (.*)$/.exec(line))) {
    (state.data = state.data || []).push({ from: m[1], direct: !!m[2], text: m[3] });
  } else if ((m = /^video key (\d+)x(\d+) from (\S+)$/.exec(line))) {
    state.videoKeys.push({ w: Number(m[1]), h: Number(m[2]), from: m[3] });
  } else if ((m = /^receive stats Counts\[(.*)\]$/.exec(line))) {
    state.receiveStats = Object.fromEntries(m[1].split(', ').map(kv => kv.split('=')).map(([k, v]) => [k, Number(v)]));
  } else if ((m = /^disconnected: (.*)$/.exec(line))) {
    state.disconnected = m[1];
  }
}

/**
 * Spawns the Java SDK's churn driver dev.veil.client.example.Churn: `count` sendonly publishers join `channel` one
 * after another (`concurrency` at a time), each sends `frames` Opus frames and leaves; the last one stays and streams
 * until stop(). It prints "joined I ID", "left I ID", "last ID" and "failed: REASON".
 * @returns {Promise<{pid: number, state: {joined: string[], left: string[], last: string|null, failed: string|null,
 *   exitCode: number|string|null}, output: () => string, stop: () => Promise<number|string|null>}>}
 */
export async function spawnChurn({ ws, channel, count, frames = 3, concurrency = 1, e2ee = false, keyMode = null,
  lab, peer }) {
  if (!existsSync(CLIENT_JAR)) {
    throw new Error(`${CLIENT_JAR} is missing: run "mvn -B -DskipTests package" first (veil-client builds it with the shade plugin)`);
  }
  const args = ['-cp', CLIENT_JAR, 'dev.veil.client.example.Churn', ws, channel, '--count', String(count),
    '--frames', String(frames), '--concurrency', String(concurrency), ...(e2ee ? ['--e2ee'] : []),
    ...(keyMode ? ['--key-mode', keyMode] : [])];
  const child = await spawnJava(args, { lab, peer, name: 'churn' });
  running.add(child);
  const state = { joined: [], left: [], last: null, failed: null, exitCode: null };
  let err = '';
  let partial = '';
  let tail = [];
  const exited = new Promise(resolve => child.on('exit', (code, signal) => {
    running.delete(child);
    state.exitCode = code !== null ? code : signal;
    resolve(state.exitCode);
  }));
  child.stderr.on('data', d => { err = (err + d).slice(-20000); });
  child.stdout.on('data', d => {
    const lines = (partial + d).split('\n');
    partial = lines.pop();
    for (const raw of lines) {
      const line = raw.trim();
      tail.push(line);
      if (tail.length > 40) tail = tail.slice(-20);
      let m;
      if ((m = /^joined \d+ (\S+)$/.exec(line))) state.joined.push(m[1]);
      else if ((m = /^left \d+ (\S+)$/.exec(line))) state.left.push(m[1]);
      else if ((m = /^last (\S+)$/.exec(line))) state.last = m[1];
      else if ((m = /^failed: (.*)$/.exec(line))) state.failed = m[1];
    }
  });
  return {
    pid: child.pid,
    state,
    output: () => `--- Churn stdout (tail)\n${tail.join('\n')}\n--- Churn stderr (tail)\n${err}`,
    async stop() {
      if (state.exitCode !== null) return state.exitCode;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}
