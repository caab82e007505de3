// Browser E2EE re-key timings (docs/BENCHMARKS.md "Browser E2EE timings"): in headless Chromium against the hostile
// server (veil-hostile-all.jar), two pages stay in the channel while a third joins and leaves N times.
//   join → first decrypted frame: from the newcomer's connect() to its first presented frame of each member
//   leave → fresh keys: from the leaver's disconnect() to the later of the two remaining members' first frame
//     encrypted under a generation above every one they used before the leave (a key the leaver never held)
// Run once with the server relaying key messages at once, then with every key message (and so every
// acknowledgement) delayed by DELAY_MS: a hostile server postponing the re-key.
//   mvn -B -q -DskipTests package && cd veil-js && node bench/rekey-timing.mjs [N] [DELAY_MS]
import { waitFor } from '../test-support/helpers/server.mjs';
import { startHostileServer } from '../test-support/helpers/hostile.mjs';
import { launchChromium } from '../test-support/helpers/browser.mjs';
import { smallStreamSource, joinE2eeInPage, e2eeStatsInPage, e2eeViewInPage } from '../test-support/browser/e2ee-pages.mjs';

const N = Number(process.argv[2] || 20);
const DELAY_MS = Number(process.argv[3] || 700);
const PEERS = [
  { name: 'red', rgb: [220, 40, 40], hz: 440 },
  { name: 'green', rgb: [40, 200, 60], hz: 550 },
  { name: 'blue', rgb: [40, 60, 220], hz: 660 },
];

const stats = page => page.evaluate(e2eeStatsInPage);
const view = page => page.evaluate(e2eeViewInPage);

async function run(delayMs) {
  const server = await startHostileServer();
  const browser = await launchChromium();
  try {
    if (delayMs > 0) await server.command(`delay-e2ee ${delayMs}`);
    const join = async (i) => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(server.base + '/');
      await page.addScriptTag({ content: smallStreamSource() });
      const p = PEERS[i];
      const t0 = await page.evaluate(() => performance.timeOrigin + performance.now());
      const id = await page.evaluate(joinE2eeInPage, { ws: server.ws, channel: 'bench', rgb: p.rgb, hz: p.hz, name: p.name });
      return { context, page, id, t0 };
    };
    const stay = [await join(0), await join(1)];
    const joinMs = [];
    const leaveMs = [];
    for (let n = 0; n < N; n++) {
      const c = await join(2);
      const firsts = await waitFor('the newcomer decodes both members', async () => {
        const s = await stats(c.page);
        return stay.every(m => s[m.id] && s[m.id].firstFrame) ? stay.map(m => s[m.id].firstFrame) : null;
      }, 60000);
      joinMs.push(...firsts.map(f => Math.round(f - c.t0)));
      await waitFor('one code for three', async () => {
        const vs = await Promise.all([...stay, c].map(m => view(m.page)));
        return vs.every(v => Object.keys(v.remote).length === 2 && v.code === vs[0].code);
      }, 60000);
      // the highest generation each remaining member has encrypted with so far
      const gens = await Promise.all(stay.map(m => m.page.evaluate(() => window.veil.events
        .filter(e => e.type === 'key-used' && e.operation === 'encrypt' && /^\d+$/.test(e.kid))
        .reduce((g, e) => Math.max(g, Number(BigInt(e.kid) >> 8n)), -1))));
      const leaveAt = await c.page.evaluate(async () => {
        const at = performance.timeOrigin + performance.now();
        await window.veil.conn.disconnect();
        return at;
      });
      const fresh = await Promise.all(stay.map((m, i) => waitFor('fresh key after the leave', () => m.page.evaluate(({ after, gen }) => {
        const ev = window.veil.events.find(e => e.type === 'key-used' && e.operation === 'encrypt' && e.time > after
          && /^\d+$/.test(e.kid) && Number(BigInt(e.kid) >> 8n) > gen);
        return ev ? ev.time : null;
      }, { after: leaveAt, gen: gens[i] }), 60000)));
      leaveMs.push(Math.round(Math.max(...fresh) - leaveAt));
      await c.context.close();
    }
    return { joinMs, leaveMs };
  } finally {
    await browser.close();
    await server.stop();
  }
}

const summary = xs => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, median: s[Math.floor(s.length / 2)], worst: s[s.length - 1], best: s[0] };
};
for (const delay of [0, DELAY_MS]) {
  const r = await run(delay);
  console.log(JSON.stringify({ keyMessageDelayMs: delay, leaveToFreshKeysMs: summary(r.leaveMs),
    joinToFirstDecryptedFrameMs: summary(r.joinMs), leaveSamples: r.leaveMs, joinSamples: r.joinMs }));
}
