// Spawns test-support/mls/MlsPeer.java (a Java MLS member on veil-e2ee / bcmls) with the single-file launcher and
// veil-client-all.jar on the class path; `await peer.cmd('state')` sends one command and returns its answer words.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { CLIENT_JAR } from '../helpers/java.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const SOURCE = path.join(here, 'MlsPeer.java');

export function spawnMlsPeer() {
  if (!existsSync(CLIENT_JAR)) {
    throw new Error(`${CLIENT_JAR} is missing: run "mvn -B -DskipTests package" first`);
  }
  const child = spawn('java', ['-cp', CLIENT_JAR, SOURCE], { stdio: ['pipe', 'pipe', 'pipe'] });
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
