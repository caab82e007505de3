// Access tokens in Chromium: a server with auth.mode = "token" (HS256 secret from a file). A page whose connect
// carries a good token (minted here with node:crypto, independently of the server's Java minting) joins; pages
// without a token, or with one for another channel, are refused, and connect() rejects with a VeilError whose reason
// is 'auth' and whose message names the server's code. The member that joined never sees another member's token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, waitFor } from '../../test-support/helpers/server.mjs';
import { launchChromium, syntheticStreamSource } from '../../test-support/helpers/browser.mjs';

const SECRET = crypto.randomBytes(32).toString('hex'); // 64 ASCII bytes
const CHANNEL = 'auth-room';
let server;
let browser;

function b64url(buf) {
  return Buffer.from(buf).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

function mint(claims) {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  const sig = b64url(crypto.createHmac('sha256', Buffer.from(SECRET, 'ascii')).update(`${head}.${body}`).digest());
  return `${head}.${body}.${sig}`;
}

async function joinInPage({ ws, channel, token }) {
  const { default: Veil } = await import('/sdk/veil.js');
  const stream = window.makeSyntheticStream([200, 50, 50], 440);
  const opts = { signalingNotifyMetadata: { name: 'x' } };
  if (token) opts.token = token;
  const conn = Veil.connection(ws).sendrecv(channel, null, opts);
  window.veil = { conn, notifies: [] };
  conn.on('notify', m => window.veil.notifies.push(m));
  try {
    await conn.connect(stream);
    return { ok: true, id: conn.connectionId };
  } catch (e) {
    return { ok: false, name: e.name, reason: e.reason, message: e.message };
  }
}

before(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'veil-auth-'));
  const secretFile = path.join(dir, 'hs256.secret');
  writeFileSync(secretFile, SECRET + '\n', { mode: 0o600 });
  server = await startServer({ config: `auth { mode = "token", hs256_secret_file = "${secretFile}" }` });
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  if (server) {
    const code = await server.stop();
    assert.ok(code === 0 || code === 143, `veil-server must exit cleanly on SIGTERM, got ${code}`);
    assert.doesNotMatch(server.log(), new RegExp(SECRET), 'the secret never appears in the log');
  }
});

async function newPage() {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.base + '/');
  await page.addScriptTag({ content: syntheticStreamSource() });
  return page;
}

test('a page with a token joins; pages without one or with a wrong-channel one are refused with the code', async () => {
  const now = Math.floor(Date.now() / 1000);
  const good = mint({ channel: CHANNEL, roles: ['publish', 'subscribe'], exp: now + 300, sub: 'page-a-subject' });
  const a = await newPage();
  const joined = await a.evaluate(joinInPage, { ws: server.ws, channel: CHANNEL, token: good });
  assert.equal(joined.ok, true, JSON.stringify(joined));
  assert.match(joined.id, /^[0-9A-HJKMNP-TV-Z]{26}$/);

  const b = await newPage();
  const missing = await b.evaluate(joinInPage, { ws: server.ws, channel: CHANNEL, token: null });
  assert.equal(missing.ok, false);
  assert.equal(missing.name, 'VeilError');
  assert.equal(missing.reason, 'auth');
  assert.match(missing.message, /token_missing: /);

  const c = await newPage();
  const wrong = await c.evaluate(joinInPage, { ws: server.ws, channel: CHANNEL,
    token: mint({ channel: 'elsewhere', roles: ['publish', 'subscribe'], exp: now + 300 }) });
  assert.equal(wrong.ok, false);
  assert.equal(wrong.reason, 'auth');
  assert.match(wrong.message, /token_wrong_channel: /);

  // a second good member joins; neither sees the other's token or subject in what the server relays
  const d = await newPage();
  const goodD = mint({ channel: CHANNEL, roles: ['publish', 'subscribe'], exp: now + 300, sub: 'page-d-subject' });
  const joinedD = await d.evaluate(joinInPage, { ws: server.ws, channel: CHANNEL, token: goodD });
  assert.equal(joinedD.ok, true, JSON.stringify(joinedD));
  // d's connect resolving says nothing of when a's page has handled the notify of d: wait for it
  const seenByA = await waitFor('a is notified of d', async () => {
    const seen = await a.evaluate(() => JSON.stringify(window.veil.notifies));
    return seen.includes(joinedD.id) ? seen : null;
  });
  assert.ok(!seenByA.includes(goodD.split('.')[1]) && !seenByA.includes('page-d-subject') && !seenByA.includes('"token"'),
    seenByA);
});
