// Scale-out in the browser SDK (docs/PROTOCOL.md §1.9), on a manual clock (node:test mock timers) with a scripted
// WebSocket and RTCPeerConnection: `redirect` is followed (the same connect to the location; bounded; before the
// offer only; never wss -> ws), and a reconnecting member comes back after a drop, with 'reconnecting' and
// 'reconnected' events, trying the candidate URLs in turn with backoff.
import { test, mock, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { ReconnectPlan, retryable } from '../../src/reconnect.js';
import { FakeWebSocket, FakePeerConnection, SDP, flush, installFakes, removeFakes } from '../../test-support/sdk/fakes.mjs';

const CID = ['0123456789ABCDEFGHJKMNPQRS', '1123456789ABCDEFGHJKMNPQRS', '2123456789ABCDEFGHJKMNPQRS'];
const A = 'ws://node-a.test/signaling';
const B = 'ws://node-b.test/signaling';

let Veil;
beforeEach(async () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  Veil = await installFakes();
});

afterEach(() => {
  mock.timers.reset();
  removeFakes();
});

/** The server behind `ws` accepts: offer, then media up. */
async function accept(ws, cid) {
  ws.onopen();
  ws.deliver({ type: 'offer', connection_id: cid, channel_id: 'room', sdp: SDP, e2ee: false, ping_interval: 5 });
  await flush();
  FakePeerConnection.last.set('connected', 'connected');
  await flush();
}

test('redirect_sendsTheSameConnectToTheLocation_andTheConnectionLivesThere', async () => {
  const conn = Veil.connection(A).recvonly('room', { user: 'x' }, {});
  const done = conn.connect();
  const first = FakeWebSocket.last;
  first.onopen();
  first.deliver({ type: 'redirect', location: B });
  assert.equal(first.closed, 1000, 'the first socket is closed');
  assert.equal(first.onmessage, null, 'and nothing more from it counts');
  const second = FakeWebSocket.last;
  assert.equal(second.url, B);
  await accept(second, CID[0]);
  await done;
  assert.deepEqual(second.sent[0], first.sent[0], 'the same connect');
  assert.equal(conn.url, B);
  assert.equal(conn.redirects, 1);
});

test('redirects_areBounded_neverFollowedAfterTheOffer_andNeverFromWssToWs', async () => {
  const loop = Veil.connection(A).recvonly('room', null, {});
  const failed = loop.connect().catch(e => e);
  for (let i = 0; i <= 3; i++) {
    FakeWebSocket.last.onopen();
    FakeWebSocket.last.deliver({ type: 'redirect', location: A });
  }
  const e1 = await failed;
  assert.match(e1.message, /more than 3 redirects/);
  assert.equal(FakeWebSocket.all.length, 4);

  const late = Veil.connection(A).recvonly('room', null, {});
  const lateFailed = late.connect().catch(e => e);
  const ws = FakeWebSocket.last;
  ws.onopen();
  ws.deliver({ type: 'offer', connection_id: CID[0], channel_id: 'room', sdp: SDP, e2ee: false, ping_interval: 5 });
  await flush();
  ws.deliver({ type: 'redirect', location: B });
  assert.match((await lateFailed).message, /redirect after its offer/);

  const secure = Veil.connection('wss://node-a.test/signaling').recvonly('room', null, {});
  const secureFailed = secure.connect().catch(e => e);
  FakeWebSocket.last.onopen();
  FakeWebSocket.last.deliver({ type: 'redirect', location: B });
  assert.match((await secureFailed).message, /refusing a redirect from wss to ws/);

  const odd = Veil.connection(A).recvonly('room', null, {});
  const oddFailed = odd.connect().catch(e => e);
  FakeWebSocket.last.onopen();
  FakeWebSocket.last.deliver({ type: 'redirect', location: 'javascript:alert(1)' });
  assert.match((await oddFailed).message, /unusable redirect location/);
});

test('plan_backoffDoublesWithJitter_candidatesRotate_successStartsOver_refusalsEndIt', () => {
  let seed = 1;
  const random = () => { seed = (seed * 16807) % 2147483647; return (seed - 1) / 2147483646; };
  const p = new ReconnectPlan([A, B], { baseMs: 250, maxMs: 4000, maxAttempts: 30, random });
  const ceilings = [250, 500, 1000, 2000, 4000, 4000];
  ceilings.forEach((c, i) => {
    const a = p.next(null);
    assert.equal(a.number, i + 1);
    assert.equal(a.url, i % 2 === 0 ? A : B);
    assert.ok(a.delayMs >= c / 2 && a.delayMs <= c, `attempt ${i + 1}: ${a.delayMs}`);
  });
  p.connected(B);
  assert.equal(p.next(null).url, B, 'the candidate that worked is tried first next time');
  assert.equal(p.next('token_expired: the access token has expired'), null);
  assert.ok(retryable('cluster_unavailable: the cluster directory is unreachable; try again'));
  assert.ok(!retryable('e2ee_mismatch'));
  assert.ok(retryable('draining: the server is shutting down; connect to another server'));
  const few = new ReconnectPlan([A], { baseMs: 10, maxMs: 10, maxAttempts: 2 });
  assert.ok(few.next() && few.next());
  assert.equal(few.next(), null);
});

test('reconnecting_afterADrop_triesTheCandidatesWithBackoff_andEmitsReconnectingAndReconnected', async () => {
  const m = Veil.connection([A, B]).reconnecting('recvonly', 'room', null, { reconnectBaseMs: 200, reconnectMaxMs: 1000 });
  const events = [];
  m.on('reconnecting', ev => events.push(['reconnecting', ev.attempt, ev.url, ev.delayMs]));
  m.on('reconnected', ev => events.push(['reconnected', ev.attempts, ev.url, ev.downtimeMs]));
  m.on('disconnect', ev => events.push(['disconnect', ev.type]));
  const notifies = [];
  m.on('notify', ev => notifies.push(ev.connection_id));
  const up = m.connect(null);
  await accept(FakeWebSocket.last, CID[0]);
  await up;
  const firstConn = m.current;
  assert.equal(m.connectionId, CID[0]);

  FakeWebSocket.last.drop(); // node A crashed
  await flush();
  assert.equal(events.length, 1);
  const [kind, attempt, url, delay] = events[0];
  assert.deepEqual([kind, attempt, url], ['reconnecting', 1, A]);
  assert.ok(delay >= 100 && delay <= 200);
  const before = FakeWebSocket.all.length;
  mock.timers.tick(delay - 1);
  assert.equal(FakeWebSocket.all.length, before, 'not before its delay');
  mock.timers.tick(1);
  assert.equal(FakeWebSocket.last.url, A);
  FakeWebSocket.last.drop(); // A is still down: connection refused
  await flush();
  assert.deepEqual(events[1].slice(0, 3), ['reconnecting', 2, B]);
  mock.timers.tick(events[1][3]);
  assert.equal(FakeWebSocket.last.url, B);
  await accept(FakeWebSocket.last, CID[1]);
  assert.deepEqual(events[2].slice(0, 3), ['reconnected', 2, B]);
  assert.equal(events[2][3], events[0][3] + events[1][3], 'downtime on the manual clock');
  assert.notEqual(m.current, firstConn);
  assert.equal(m.connectionId, CID[1]);
  FakeWebSocket.last.deliver({ type: 'notify', event_type: 'connection.created', connection_id: CID[2],
    role: 'sendrecv', channel_connections: 2 });
  assert.deepEqual(notifies, [CID[2]], 'events of the new connection reach the listeners');

  await m.disconnect();
  assert.deepEqual(events.at(-1), ['disconnect', 'normal']);
  assert.equal(events.filter(e => e[0] === 'disconnect').length, 1, 'one disconnect, at the very end');
  mock.timers.tick(60_000);
  assert.equal(FakeWebSocket.last.url, B, 'no reconnect after disconnect()');
});

test('reconnecting_givesUpOnARefusalThatWouldRepeat', async () => {
  const m = Veil.connection([A]).reconnecting('recvonly', 'room', null, {});
  const events = [];
  m.on('disconnect', ev => events.push(ev));
  const failed = m.connect(null).catch(e => e);
  const ws = FakeWebSocket.last;
  ws.onopen();
  ws.deliver({ type: 'error', reason: 'token_expired: the access token has expired' });
  const e = await failed;
  assert.match(e.message, /token_expired/);
  assert.equal(events.length, 1);
  assert.equal(FakeWebSocket.all.length, 1, 'no second attempt');
});
