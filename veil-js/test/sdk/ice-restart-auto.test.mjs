// The SDK's automatic ICE restart, on a manual clock (node:test mock timers) with a scripted RTCPeerConnection and
// WebSocket: 'disconnected' for 2 s or 'failed' sends ice-restart, the re-offer with new credentials is answered,
// 'connected' resets the attempts, restarts are spaced for the server's one-per-2-s limit, and after
// iceRestartAttempts restarts that bring nothing back the connection ends with a 'media' abend.
import { test, mock, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { FakeWebSocket, FakePeerConnection as BasePeerConnection, flush, installFakes, removeFakes } from '../../test-support/sdk/fakes.mjs';

/** The shared fake, answering like a browser across ICE restarts and reporting ICE state changes too. */
class FakePeerConnection extends BasePeerConnection {
  constructor() {
    super();
    this.remoteDescription = null;
    this.localDescription = null;
    this.answers = 0;
  }
  async createAnswer() {
    // like a browser: new local credentials only when the offer's changed
    const remote = /a=ice-ufrag:(\S+)/.exec(this.remoteDescription.sdp)[1];
    if (remote !== this.answeredUfrag) { this.answeredUfrag = remote; this.answers++; }
    return { type: 'answer', sdp: `v=0\r\na=ice-ufrag:browser${this.answers}\r\n` };
  }
  /** The browser's ICE (and, with `connection`, peer connection) state changes. */
  set(ice, connection) {
    this.iceConnectionState = ice;
    if (this.oniceconnectionstatechange) this.oniceconnectionstatechange();
    if (connection) {
      this.connectionState = connection;
      if (this.onconnectionstatechange) this.onconnectionstatechange();
    }
  }
}

const CID = '0123456789ABCDEFGHJKMNPQRS';
const offer = ufrag => `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-ufrag:${ufrag}\r\na=ice-pwd:p\r\n`;

let Veil;
beforeEach(async () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  Veil = await installFakes(FakePeerConnection);
});

afterEach(() => {
  mock.timers.reset();
  removeFakes();
});

/** A recvonly connection whose media is up; returns {conn, ws, pc, events}. */
async function connected(options = {}) {
  const conn = Veil.connection('ws://veil.test/signaling').recvonly('room', null, options);
  const events = [];
  conn.on('disconnect', ev => events.push(ev));
  const done = conn.connect();
  const ws = FakeWebSocket.last;
  ws.onopen();
  ws.deliver({ type: 'offer', connection_id: CID, channel_id: 'room', sdp: offer('server0'), e2ee: false, ping_interval: 5 });
  await flush();
  const pc = FakePeerConnection.last;
  pc.set('connected', 'connected');
  await done;
  assert.deepEqual(ws.types(), ['connect', 'answer']);
  return { conn, ws, pc, events };
}

/** The server answers an ice-restart with a re-offer carrying `ufrag`. */
async function reoffer(ws, ufrag) {
  ws.deliver({ type: 're-offer', sdp: offer(ufrag) });
  await flush();
}

const restarts = ws => ws.types().filter(t => t === 'ice-restart').length;

test('disconnected_forTwoSeconds_sendsIceRestart_andTheReofferIsAnsweredWithNewCredentials', async () => {
  const { ws, pc, events } = await connected();
  pc.set('disconnected');
  mock.timers.tick(1999);
  assert.equal(restarts(ws), 0);
  mock.timers.tick(1);
  assert.equal(restarts(ws), 1);
  await reoffer(ws, 'server1');
  assert.equal(ws.sent.at(-1).type, 're-answer');
  assert.match(ws.sent.at(-1).sdp, /a=ice-ufrag:browser2/);
  pc.set('connected');
  mock.timers.tick(60_000);
  assert.equal(restarts(ws), 1, 'nothing more once ICE is back');
  assert.deepEqual(events, []);
});

test('disconnected_briefly_sendsNothing', async () => {
  const { ws, pc } = await connected();
  pc.set('disconnected');
  mock.timers.tick(1500);
  pc.set('connected');
  mock.timers.tick(60_000);
  assert.equal(restarts(ws), 0);
});

test('failed_afterMediaWasUp_restartsInsteadOfEnding_spacedByTheServersInterval', async () => {
  const { ws, pc, events } = await connected();
  pc.set('disconnected');
  mock.timers.tick(2000);
  assert.equal(restarts(ws), 1);
  await reoffer(ws, 'server1');
  pc.set('connected');
  pc.set('failed', 'failed'); // 100 ms later in real life; here at once: the next request waits for the interval
  assert.deepEqual(events, [], 'an ICE failure after media was up does not end the connection');
  mock.timers.tick(0);
  assert.equal(restarts(ws), 1);
  mock.timers.tick(2499);
  assert.equal(restarts(ws), 1, 'at most one request per 2.5 s');
  mock.timers.tick(1);
  assert.equal(restarts(ws), 2);
  await reoffer(ws, 'server2');
  pc.set('connected', 'connected');
  mock.timers.tick(60_000);
  assert.equal(restarts(ws), 2);
  assert.deepEqual(events, []);
});

test('noRecovery_afterTheAttempts_endsWithAMediaAbend', async () => {
  const { ws, pc, events } = await connected({ iceRestartAttempts: 2 });
  pc.set('failed', 'failed');
  mock.timers.tick(0);
  assert.equal(restarts(ws), 1);
  await reoffer(ws, 'server1');
  mock.timers.tick(5000); // the watchdog: still failed
  assert.equal(restarts(ws), 2);
  await reoffer(ws, 'server2');
  assert.deepEqual(events, []);
  mock.timers.tick(5000);
  assert.equal(restarts(ws), 2);
  assert.equal(events.length, 1);
  assert.equal(events[0].type, 'abend');
  assert.equal(events[0].reason, 'media');
  assert.match(events[0].message, /ICE failed after 2 ICE restarts/);
  assert.ok(pc.closed);
});

test('restartIce_joinsThePendingRequest_resolvesOnTheReoffer_rejectsOnAServerError', async () => {
  const { conn, ws } = await connected({ iceRestartAttempts: 0 });
  const a = conn.restartIce();
  const b = conn.restartIce();
  assert.equal(a, b, 'one request');
  mock.timers.tick(0);
  assert.equal(restarts(ws), 1);
  await reoffer(ws, 'server0'); // a re-offer without new credentials (e.g. a member joined) does not settle it
  let settled = false;
  a.then(() => { settled = true; });
  await flush();
  assert.equal(settled, false);
  await reoffer(ws, 'server1');
  assert.equal(settled, true);

  const c = conn.restartIce();
  mock.timers.tick(2500);
  assert.equal(restarts(ws), 2);
  ws.deliver({ type: 'error', reason: 'ice-restart dropped: at most one every 2000 ms' });
  await assert.rejects(c, e => e.reason === 'ice-restart' && /at most one/.test(e.message));
});

test('restartIce_beforeMediaIsUp_orAfterTheEnd_rejectsBadState', async () => {
  const fresh = Veil.connection('ws://veil.test/signaling').recvonly('room', null, {});
  await assert.rejects(fresh.restartIce(), e => e.reason === 'bad-state');
  const { conn } = await connected();
  await conn.disconnect();
  await assert.rejects(conn.restartIce(), e => e.reason === 'bad-state');
});

test('failed_beforeMediaWasUp_stillEndsTheConnect', async () => {
  const conn = Veil.connection('ws://veil.test/signaling').recvonly('room', null, {});
  const done = conn.connect();
  const ws = FakeWebSocket.last;
  ws.onopen();
  ws.deliver({ type: 'offer', connection_id: CID, channel_id: 'room', sdp: offer('server0'), e2ee: false, ping_interval: 5 });
  await flush();
  FakePeerConnection.last.set('failed', 'failed');
  await assert.rejects(done, e => e.reason === 'media');
  assert.equal(restarts(ws), 0);
});
