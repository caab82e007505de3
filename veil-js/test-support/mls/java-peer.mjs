// Spawns test-support/mls/MlsPeer.java (a Java MLS member on veil-e2ee / bcmls) with the single-file launcher and
// veil-client-all.jar on the class path; `await peer.cmd('state')` sends one command and returns its answer words.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { CLIENT_JAR } from '../helpers/java.mjs';

/** veil-server.jar: MlsPeer's `server` commands use the server's own MlsExternalSender. */
export const SERVER_JAR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../veil-server/target/veil-server.jar');

const here = path.dirname(fileURLToPath(import.meta.url));
const SOURCE = path.join(here, 'MlsPeer.java');

export function spawnMlsPeer() {
  for (const jar of [CLIENT_JAR, SERVER_JAR]) {
    if (!existsSync(jar)) throw new Error(`${jar} is missing: run "mvn -B -DskipTests package" first`);
  }
  const child = spawn('java', ['-cp', `${CLIENT_JAR}${path.delimiter}${SERVER_JAR}`, SOURCE], { stdio: ['pipe', 'pipe', 'pipe'] });
  let buf = '';
  let err = '';
  const waiting = [];
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiting.shift();
      if (w) w(line);
    }
  });
  child.stderr.on('data', (d) => { err = (err + d).slice(-4000); });
  return {
    /** One command; resolves with the answer's words after "ok", rejects on "error ...". */
    cmd(line) {
      return new Promise((resolve, reject) => {
        waiting.push((answer) => {
          if (answer.startsWith('ok')) resolve(answer.split(' ').slice(1));
          else reject(new Error(`MlsPeer ${line.split(' ')[0]}: ${answer}`));
        });
        child.stdin.write(line + '\n');
      });
    },
    stderr: () => err,
    stop() {
      child.stdin.end();
      return new Promise((resolve) => child.on('exit', resolve));
    },
  };
}

// ------------------------------------------------------------------ browser-side members for the interop tests

/** A browser MLS member (src/e2ee/mls-session.js) started as connection `id`; outputs sorted by pumpSession. */
export function sessionMember(MlsSession, id, options) {
  const s = new MlsSession(options);
  s.start(id);
  s.id = id;
  s.epochs = [];
  s.errors = [];
  s.sent = [];
  s.stops = 0;
  return s;
}

/** Runs the session's queue and sorts its outputs. */
export async function pumpSession(s) {
  await s.idle();
  for (const o of s.drainOutputs()) {
    if (o.type === 'epoch') s.epochs.push(o);
    else if (o.type === 'error') s.errors.push(o);
    else if (o.type === 'send') s.sent.push(o.message);
    else if (o.type === 'stop-sending') s.stops++;
  }
}

/** The Java peer's view: {epoch, leaf, code, baseKey, roster, dataKey}. */
export async function javaView(p) {
  const [epoch, leaf, code, baseKey, roster, dataKey] = await p.cmd('state');
  return { epoch: BigInt(epoch), leaf: Number(leaf), code: code.replace(/_/g, ' '), baseKey, roster: roster.split(','),
    dataKey };
}

/** The browser member's view of its newest epoch, in javaView's form. */
export function sessionView(s, toHex) {
  const e = s.epochs[s.epochs.length - 1];
  return { epoch: e.epoch, leaf: e.ownLeaf, code: e.code, baseKey: toHex(e.baseKey), roster: e.roster,
    dataKey: toHex(e.dataKey) };
}
