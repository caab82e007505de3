// Graceful drain in the browser SDK (docs/PROTOCOL.md §1.10): the server's {"type":"draining","deadline_ms":…}
// becomes a 'draining' event with {deadlineMs}; the connection itself stays up until the server closes it.
// A scripted WebSocket and RTCPeerConnection (test-support/sdk/fakes.mjs).
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { FakeWebSocket, FakePeerConnection, SDP, flush, installFakes, removeFakes } from '../../test-support/sdk/fakes.mjs';


let Veil;
beforeEach(async () => {
  Veil = await installFakes();
});

afterEach(removeFakes);

test('draining_isEmittedWithTheDeadline_andTheConnectionStaysUp', async () => {
  const conn = Veil.connection('ws://node-a.test/signaling').recvonly('room', null, {});
  const events = [];
  const disconnects = [];
  conn.on('draining', ev => events.push(ev));
  conn.on('disconnect', ev => disconnects.push(ev));
  const done = conn.connect();
  const ws = FakeWebSocket.last;
  ws.onopen();
  ws.deliver({ type: 'offer', connection_id: '0123456789ABCDEFGHJKMNPQRS', channel_id: 'room', sdp: SDP, e2ee: false,
    ping_interval: 5 });
  await flush();
  FakePeerConnection.last.set('connected', 'connected');
  await done;

  ws.deliver({ type: 'draining', deadline_ms: 60000 });
  await flush();
  assert.deepEqual(events, [{ deadlineMs: 60000 }]);
  assert.deepEqual(disconnects, [], 'still connected: the server closes it at the deadline');
  assert.equal(ws.closed, undefined);
  assert.equal(FakePeerConnection.last.closed, undefined);
});
