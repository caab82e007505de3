// Spawns the hostile server (veil-hostile/target/veil-hostile-all.jar, built by `mvn package`): a real veil-server
// behind a scriptable signaling relay, with a hand on the media it forwards (dev.veil.hostile.HostileServerMain).
// Pages load the SDK from `base` and connect their signaling to `ws` (the relay); `command(line)` drives an attack
// and resolves with the server's reply ("ok ..."; an "error ..." reply rejects). It runs in the hub namespace of a
// netns.mjs lab (the shared one unless `lab` is given) with its media on the lab's address; its relay and HTTP ports
// are exposed as 127.0.0.1 ports to this process and to every browser of the lab.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { defaultLab } from './netns.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const HOSTILE_JAR = path.resolve(here, '../../../veil-hostile/target/veil-hostile-all.jar');

export async function startHostileServer({ timeoutMs = 90000, lab } = {}) {
  if (!existsSync(HOSTILE_JAR)) throw new Error(`${HOSTILE_JAR} is missing: run "mvn -B -DskipTests package" first`);
  const theLab = lab || await defaultLab();
  const child = theLab.spawnInHub('java', ['-jar', HOSTILE_JAR, '--rtc-address', theLab.serverAddress],
    { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  let partial = '';
  const lines = [];
  const waiters = [];
  child.stderr.on('data', d => { err += d; if (err.length > 4e6) err = err.slice(-2e6); });
  const exited = new Promise(resolve => child.on('exit', code => resolve(code)));
  child.stdout.on('data', d => {
    const parts = (partial + d).split('\n');
    partial = parts.pop();
    for (const l of parts) {
      const w = waiters.shift();
      if (w) w(l.trim()); else lines.push(l.trim());
    }
  });
  const nextLine = (what, ms) => new Promise((resolve, reject) => {
    if (lines.length) { resolve(lines.shift()); return; }
    const timer = setTimeout(() => reject(new Error(`hostile server: no ${what} within ${ms} ms\n${err.slice(-4000)}`)), ms);
    waiters.push(l => { clearTimeout(timer); resolve(l); });
    exited.then(code => { clearTimeout(timer); reject(new Error(`hostile server exited with ${code}\n${err.slice(-4000)}`)); });
  });
  // (one that did not start in time is killed: left running, it would keep the test file's process alive)
  const first = await nextLine('listening line', timeoutMs).catch(e => { child.kill('SIGKILL'); throw e; });
  const m = /veil-hostile listening relay_port=(\d+) http_port=(\d+) rtc_port=(\d+)/.exec(first);
  if (!m) throw new Error(`hostile server said ${first}`);
  const relayPort = await theLab.expose(Number(m[1]));
  const httpPort = await theLab.expose(Number(m[2]));
  return {
    lab: theLab,
    base: `http://127.0.0.1:${httpPort}`,
    ws: `ws://127.0.0.1:${relayPort}/signaling`,
    log: () => err,
    async command(line) {
      child.stdin.write(line + '\n');
      const reply = await nextLine(`reply to "${line}"`, 10000);
      if (!reply.startsWith('ok')) throw new Error(`hostile server: "${line}" → ${reply}`);
      return reply.slice(3);
    },
    /** Closes its standard input (it stops), SIGKILL after 10 s; the exit code. */
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.stdin.end();
      const killer = setTimeout(() => child.kill('SIGKILL'), 10000);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}
