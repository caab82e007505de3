// Starts veil-server.jar (built by `mvn package`) on ephemeral ports in the hub namespace of a netns.mjs lab, bound
// to and announcing the lab's media address 198.18.0.1, and reads the bound ports from its machine-readable line:
// "veil-server listening http_port=N rtc_port=M ...". Its HTTP port is exposed as 127.0.0.1:P both to this process
// and in every browser's namespace, so `base`/`ws` are the same URL for Node and for the pages.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { defaultLab } from './netns.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const JAR = path.resolve(here, '../../../veil-server/target/veil-server.jar');

/**
 * @param {{args?: string[], config?: string, timeoutMs?: number, lab?: import('./netns.mjs').Lab}} [opts] `config`:
 *   HOCON text written to a temporary file and passed with --config (e.g. 'e2ee = true'), after the lab's addresses;
 *   `lab`: default the process's shared lab (the one launchChromium joins)
 * @returns {Promise<{httpPort: number, rtcPort: number, rtcAddress: string, base: string, ws: string, lab: object,
 *   log: () => string, stop: () => Promise<number|null>}>} `httpPort` is the port as seen from here and the pages
 */
export async function startServer(opts = {}) {
  if (!existsSync(JAR)) throw new Error(`${JAR} is missing: run "mvn -B -DskipTests package" first`);
  const lab = opts.lab || await defaultLab();
  const args = ['-jar', JAR, '--http-port', '0', '--rtc-port', '0', ...(opts.args || [])];
  const dir = mkdtempSync(path.join(tmpdir(), 'veil-conf-'));
  const file = path.join(dir, 'veil.conf');
  writeFileSync(file, `announced_address = "${lab.serverAddress}"\nrtc_bind_address = "${lab.serverAddress}"\n`
    + (opts.config === undefined ? '' : opts.config + '\n'));
  args.push('--config', file);
  const child = lab.spawnInHub('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', d => { err += d; });
  const exited = new Promise(resolve => child.on('exit', code => resolve(code)));
  const ports = await new Promise((resolve, reject) => {
    // (one that did not start in time is killed: left running, it would keep the test file's process alive)
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`veil-server did not start within ${opts.timeoutMs || 90000} ms:\n${err}`)); },
      opts.timeoutMs || 90000);
    child.stdout.on('data', d => {
      out += d;
      const m = /veil-server listening http_port=(\d+) rtc_port=(\d+)/.exec(out);
      if (m) { clearTimeout(timer); resolve({ httpPort: Number(m[1]), rtcPort: Number(m[2]) }); }
    });
    exited.then(code => { clearTimeout(timer); reject(new Error(`veil-server exited with ${code}:\n${err}`)); });
  });
  const httpPort = await lab.expose(ports.httpPort);
  return {
    httpPort,
    rtcPort: ports.rtcPort,
    rtcAddress: lab.serverAddress,
    lab,
    base: `http://127.0.0.1:${httpPort}`,
    ws: `ws://127.0.0.1:${httpPort}/signaling`,
    log: () => err,
    /** SIGKILL (a crash: no shutdown hook, no goodbye to anyone), then the exit code. */
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGKILL');
      return exited;
    },
    /** SIGTERM, then the exit code (the shutdown hook stops Jetty and UDP). */
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10000);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}

/** Polls `fn` (sync or async) until it returns a truthy value; throws with `what` after `timeoutMs`. */
export async function waitFor(what, fn, timeoutMs = 20000, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise(r => setTimeout(r, intervalMs));
  }
}
