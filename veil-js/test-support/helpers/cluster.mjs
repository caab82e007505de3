// Scale-out on Redis for the browser tests and benches (docs/PROTOCOL.md §1.9): a throw-away redis-server in the
// hub namespace of a netns.mjs lab (loopback there, no persistence), and the cluster block of a node's config.
import { waitFor } from './server.mjs';

/**
 * Starts redis-server on a random port of the hub namespace's loopback and waits until it answers PING.
 * @returns {Promise<{port: number, stop: () => Promise<void>}>}
 */
export async function startRedis(lab) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = lab.spawnInHub('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no'], { stdio: 'ignore' });
  const exited = new Promise(resolve => child.on('exit', resolve));
  await waitFor('redis-server answering in the hub namespace', () => new Promise(resolve => {
    const c = lab.spawnInHub('redis-cli', ['-p', String(port), 'ping'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    c.stdout.on('data', d => { out += d; });
    c.on('exit', () => resolve(out.includes('PONG')));
  }), 20000, 200);
  return {
    port,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * The `cluster { … }` config block of node `nodeId` on the redis at 127.0.0.1:`port`. Short timings by default (a
 * dead node's entry expires after 2 s, an orphaned channel after 4 s), so a fail-over takes seconds, not tens.
 */
export function clusterConfig(port, nodeId, { heartbeatMillis = 250, nodeTtlMillis = 2000, channelTtlMillis = 4000,
  redisTimeoutMillis = 1000 } = {}) {
  return `cluster { redis_url = "redis://127.0.0.1:${port}", node_id = "${nodeId}", `
    + `heartbeat_millis = ${heartbeatMillis}, node_ttl_millis = ${nodeTtlMillis}, `
    + `channel_ttl_millis = ${channelTtlMillis}, redis_timeout_millis = ${redisTimeoutMillis} }`;
}
