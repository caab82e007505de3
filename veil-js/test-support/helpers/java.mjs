// Spawns the Java SDK's example participant dev.veil.client.example.Echo from veil-client-all.jar (built by
// `mvn package`) and parses what it prints on stdout:
//   connected: ID fingerprint FP        member ID fingerprint FP        verification code: CODE
//   e2ee SOURCE error from ID: REASON [(+N more)]        connection.created ID        disconnected: REASON
//   device fingerprint FP        member ID device FP                      (with deviceKey: --device-key FILE)
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
export const CLIENT_JAR = path.resolve(here, '../../../veil-client/target/veil-client-all.jar');

const running = new Set();
// last resort if a test crashes before its after hook: never leave a JVM behind
process.on('exit', () => { for (const c of running) c.kill('SIGKILL'); });

/**
 * @param {{ws: string, channel: string, plain?: boolean}} opts
 * @returns {{pid: number, state: {id: string|null, fingerprint: string|null, codes: string[],
 *   members: Record<string, string>, errors: {source: string, from: string, reason: string, count: number}[],
 *   disconnected: string|null, exitCode: number|null}, output: () => string, stop: () => Promise<number|string|null>}}
 */
export function spawnEcho({ ws, channel, plain = false, deviceKey = null, passphrase = null }) {
  if (!existsSync(CLIENT_JAR)) {
    throw new Error(`${CLIENT_JAR} is missing: run "mvn -B -DskipTests package" first (veil-client builds it with the shade plugin)`);
  }
  const args = ['-cp', CLIENT_JAR, 'dev.veil.client.example.Echo', ws, channel, ...(plain ? ['--plain'] : []),
    ...(deviceKey ? ['--device-key', deviceKey] : []), ...(passphrase ? ['--passphrase', passphrase] : [])];
  const child = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const state = { id: null, fingerprint: null, codes: [], members: {}, errors: [], disconnected: null, exitCode: null,
    device: null, memberDevices: {} };
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
  if ((m = /^connected: (\S+)(?: fingerprint (.+))?$/.exec(line))) {
    state.id = m[1];
    state.fingerprint = m[2] || null;
  } else if ((m = /^device fingerprint (.+)$/.exec(line))) {
    state.device = m[1];
  } else if ((m = /^member (\S+) device (.+)$/.exec(line))) {
    state.memberDevices[m[1]] = m[2];
  } else if ((m = /^member (\S+) fingerprint (.+)$/.exec(line))) {
    state.members[m[1]] = m[2];
  } else if ((m = /^verification code: (.+)$/.exec(line))) {
    state.codes.push(m[1]);
  } else if ((m = /^e2ee (\S+) error from (\S+): (\S+)(?: \(\+(\d+) more\))?/.exec(line))) {
    state.errors.push({ source: m[1], from: m[2], reason: m[3], count: 1 + Number(m[4] || 0) });
  } else if ((m = /^disconnected: (.*)$/.exec(line))) {
    state.disconnected = m[1];
  }
}
