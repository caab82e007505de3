// Spawns the hostile server (veil-hostile/target/veil-hostile-all.jar, built by `mvn package`): a real veil-server
// behind a scriptable signaling relay, with a hand on the media it forwards (dev.veil.hostile.HostileServerMain).
// Pages load the SDK from `base` and connect their signaling to `ws` (the relay); `command(line)` drives an attack
// and resolves with the server's reply ("ok ..."; an "error ..." reply rejects).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
export const HOSTILE_JAR = path.resolve(here, '../../../veil-hostile/target/veil-hostile-all.jar');

export async function startHostileServer({ timeoutMs = 30000 } = {}) {
  if (!existsSync(HOSTILE_JAR)) throw new Error(`${HOSTILE_JAR} is missing: run "mvn -B -DskipTests package" first`);
  const child = spawn('java', ['-jar', HOSTILE_JAR], { stdio: ['pipe', 'pipe', 'pipe'] });
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
  const first = await nextLine('listening line', timeoutMs);
  const m = /veil-hostile listening relay_port=(\d+) http_port=(\d+) rtc_port=(\d+)/.exec(first);
  if (!m) throw new Error(`hostile server said ${first}`);
  return {
    base: `http://127.0.0.1:${m[2]}`,
    ws: `ws://127.0.0.1:${m[1]}/signaling`,
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
