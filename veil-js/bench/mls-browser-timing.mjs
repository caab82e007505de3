// Browser key-mode timings (docs/BENCHMARKS.md "KeyModeLatency in the browser"): MLS (keyMode 'mls', ts-mls) against
// the sender-keys mode, in headless Chromium against a real veil-server.jar (`e2ee = true`) on 127.0.0.1.
// Per mode and group size n (2 and 4 pages): n-1 pages stay in the channel, then R rounds (after one warm-up round) of
// "a newcomer joins (→ n), the group agrees, the newcomer leaves (→ n-1)". Every time comes from the pages' own clocks
// (performance.timeOrigin + now(); one machine, one wall clock):
//   join → joiner decrypts   from the newcomer's connect() (before WebSocket, identity, worker) to the worker's first
//                            decrypted frame of a member (`key-used`, operation 'decrypt': first frame under a key,
//                            per sender); "1st" = earliest member, "all" = the last of them
//   join → all decrypt joiner  from that connect() to the last member's first decrypted frame from the newcomer
//   join → joiner presents   the same as "joiner decrypts all" but to the first presented frame (requestVideoFrameCallback):
//                            adds the key-frame wait and the decoder start
//   leave → locked out       from the leaver's disconnect() to a remaining member's first frame encrypted under a key
//                            it had not sent under before the leave (`key-used`, operation 'encrypt'): MLS = the
//                            new epoch after the removal commit; sender keys = the fresh sender key after all acks;
//                            "1st" = the earliest remaining member, "all" = the last; MLS with one member left:
//                            it cannot commit a group of one, so it stops sending (epoch -1; polled every 2 ms)
//   node bench/mls-browser-timing.mjs [ROUNDS=5] [SIZES=2,4] [MODES=sender-keys,mls]
// Needs veil-server/target/veil-server.jar (mvn -B -q -DskipTests package at the repository root).
import { execSync } from 'node:child_process';
import { startServer, waitFor } from '../test-support/helpers/server.mjs';
import { launchChromium } from '../test-support/helpers/browser.mjs';
import { openSmallStreamPage, joinE2eeInPage } from '../test-support/browser/e2ee-pages.mjs';

const ROUNDS = Number(process.argv[2] || 5);
const SIZES = (process.argv[3] || '2,4').split(',').map(Number);
const MODES = (process.argv[4] || 'sender-keys,mls').split(',');
const WAIT = 90000;
const COLOURS = [[220, 40, 40], [40, 200, 60], [40, 60, 220], [220, 200, 40]];

/** In-page: the key-mode view, and the page's clock. */
function viewInPage() {
  const c = window.veil.conn;
  return { keyMode: c.e2eeKeyMode, epoch: c.e2eeEpoch, code: c.e2eeVerificationCode,
    remotes: Object.keys(c.e2eeRemoteFingerprints || {}).length, roster: c.e2eeRoster ? c.e2eeRoster.length : null,
    id: c.connectionId };
}

/** In-page: time of the first 'decrypt' key-used event for `senderId` at or after `since`. */
function firstDecryptInPage({ senderId, since }) {
  const ev = window.veil.events.find(e => e.type === 'key-used' && e.operation === 'decrypt'
    && e.senderId === senderId && e.time >= since);
  return ev ? ev.time : null;
}

/** In-page: the first presented frame of `cid` (rVFC). */
function firstFrameInPage(cid) {
  const r = window.veil.remote[cid];
  return r && r.frames.length ? r.frames[0] : null;
}

/** In-page: every kid this page encrypted under so far. */
function sendKidsInPage() {
  return window.veil.events.filter(e => e.type === 'key-used' && e.operation === 'encrypt').map(e => e.kid);
}

/**
 * In-page: watches (every 2 ms) for the MLS "alone" case: a member whose last peer left drops its send key and stops
 * sending (epoch -1; mls-session.js), which emits no event of its own.
 */
function watchStopInPage() {
  const v = window.veil;
  v.stoppedAt = null;
  clearInterval(v.stopWatch);
  v.stopWatch = setInterval(() => {
    if (v.conn.e2eeKeyMode === 'mls' && v.conn.e2eeEpoch === -1 && v.stoppedAt === null) {
      v.stoppedAt = performance.timeOrigin + performance.now();
    }
  }, 2);
}

/** In-page: the first 'encrypt' key-used event after `after` with a kid not in `old`, or the stop (see above). */
function freshSendInPage({ after, old }) {
  const v = window.veil;
  const ev = v.events.find(e => e.type === 'key-used' && e.operation === 'encrypt' && e.time > after
    && !old.includes(e.kid));
  if (ev) return { time: ev.time, how: 'new key' };
  if (v.stoppedAt !== null) {
    clearInterval(v.stopWatch);
    return { time: v.stoppedAt, how: 'stopped' };
  }
  return null;
}

async function join(browser, server, channel, i, mode) {
  const page = await openSmallStreamPage(browser, server.base);
  const t0 = await page.evaluate(() => performance.timeOrigin + performance.now());
  const options = { keyMode: mode };
  const id = await page.evaluate(joinE2eeInPage,
    { ws: server.ws, channel, rgb: COLOURS[i % 4], hz: 440 + 110 * i, name: 'p' + i, options });
  return { page, id, t0 };
}

/** Waits until every member shows one code (and, in MLS, one epoch) for a group of `members.length`. */
async function agreed(members, mode) {
  let seen = null;
  return waitFor(`${members.length} members agree`, async () => {
    const vs = await Promise.all(members.map(m => m.page.evaluate(viewInPage)));
    seen = vs;
    for (const v of vs) {
      if (v.keyMode !== mode) throw new Error(`key mode ${v.keyMode}, expected ${mode}`);
      if (!v.code || v.code !== vs[0].code || v.epoch !== vs[0].epoch) return null;
      if (mode === 'mls' ? v.roster !== members.length : v.remotes !== members.length - 1) return null;
    }
    return vs[0];
  }, WAIT).catch(e => { throw new Error(`${e.message}; seen ${JSON.stringify(seen)}`); });
}

async function round(browser, server, channel, stay, mode) {
  const c = await join(browser, server, channel, stay.length, mode);
  const r = {};
  const dec = await waitFor('the newcomer decrypts every member', async () => {
    const ts = await Promise.all(stay.map(m => c.page.evaluate(firstDecryptInPage, { senderId: m.id, since: c.t0 })));
    return ts.every(t => t) ? ts : null;
  }, WAIT);
  r.joinerDecrypts1st = Math.min(...dec) - c.t0;
  r.joinerDecryptsAll = Math.max(...dec) - c.t0;
  const theirs = await waitFor('every member decrypts the newcomer', async () => {
    const ts = await Promise.all(stay.map(m => m.page.evaluate(firstDecryptInPage, { senderId: c.id, since: c.t0 })));
    return ts.every(t => t) ? ts : null;
  }, WAIT);
  r.allDecryptJoiner = Math.max(...theirs) - c.t0;
  const shown = await waitFor('the newcomer presents every member', async () => {
    const ts = await Promise.all(stay.map(m => c.page.evaluate(firstFrameInPage, m.id)));
    return ts.every(t => t) ? ts : null;
  }, WAIT);
  r.joinerPresentsAll = Math.max(...shown) - c.t0;
  const v = await agreed([...stay, c], mode);
  r.epochAfterJoin = v.epoch;
  // diagnostics for outlier rounds: the newcomer's e2ee errors other than frames before their key arrived
  r.joinerErrors = await c.page.evaluate(() => window.veil.events.filter(e => e.type === 'error'
    && !/^(no-key|expired-key)$/.test(e.reason)).map(e => `${e.source || e.operation}:${e.reason}`).join(',') || undefined);
  const old = await Promise.all(stay.map(m => m.page.evaluate(sendKidsInPage)));
  await Promise.all(stay.map(m => m.page.evaluate(watchStopInPage)));
  const leaveAt = await c.page.evaluate(async () => {
    const at = performance.timeOrigin + performance.now();
    await window.veil.conn.disconnect();
    return at;
  });
  const fresh = await Promise.all(stay.map((m, i) => waitFor('a fresh send key after the leave',
    () => m.page.evaluate(freshSendInPage, { after: leaveAt, old: old[i] }), WAIT)));
  r.lockedOut1st = Math.min(...fresh.map(f => f.time)) - leaveAt;
  r.lockedOutAll = Math.max(...fresh.map(f => f.time)) - leaveAt;
  r.lockout = fresh.map(f => f.how).join('+');
  await c.page.context().close();
  if (stay.length > 1) await agreed(stay, mode);
  return r;
}

async function run(mode, n) {
  const server = await startServer({ config: 'e2ee = true' });
  const browser = await launchChromium();
  const channel = `bench-${mode}-${n}`;
  try {
    const stay = [];
    for (let i = 0; i < n - 1; i++) stay.push(await join(browser, server, channel, i, mode));
    if (stay.length > 1) await agreed(stay, mode);
    await round(browser, server, channel, stay, mode); // warm-up
    const rounds = [];
    for (let k = 0; k < ROUNDS; k++) rounds.push(await round(browser, server, channel, stay, mode));
    return rounds;
  } finally {
    await browser.close();
    await server.stop();
  }
}

const COLUMNS = [
  ['joinerDecrypts1st', 'join → joiner decrypts 1st member'],
  ['joinerDecryptsAll', 'join → joiner decrypts all'],
  ['allDecryptJoiner', 'join → all decrypt joiner'],
  ['joinerPresentsAll', 'join → joiner presents all'],
  ['lockedOut1st', 'leave → locked out by 1st'],
  ['lockedOutAll', 'leave → locked out by all'],
];
const stat = xs => {
  const s = [...xs].sort((a, b) => a - b);
  const med = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return `${Math.round(med)} (${Math.round(s[0])}–${Math.round(s[s.length - 1])})`;
};

const load = () => execSync('cat /proc/loadavg').toString().trim().split(' ').slice(0, 3).join(' ');
console.log(`# ${new Date().toISOString()} rounds=${ROUNDS} (+1 warm-up) load=${load()}`);
const rows = [];
for (const n of SIZES) {
  for (const mode of MODES) {
    const rounds = await run(mode, n);
    const row = `| ${n} | ${mode === 'mls' ? 'MLS' : 'sender keys'} | ${COLUMNS.map(([k]) => stat(rounds.map(r => r[k]))).join(' | ')} |`;
    rows.push(row);
    console.log(`# n=${n} ${mode} load=${load()} ${JSON.stringify(rounds.map(r => Object.fromEntries(
      Object.entries(r).map(([k, x]) => [k, typeof x === 'number' ? Math.round(x) : x]))))}`);
  }
}
console.log(`\nms, median (min–max) over ${ROUNDS} rounds; load after: ${load()}\n`);
console.log(`| n | mode | ${COLUMNS.map(c => c[1]).join(' | ')} |`);
console.log(`|---|---|${COLUMNS.map(() => '---').join('|')}|`);
for (const r of rows) console.log(r);
