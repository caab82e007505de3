// Graceful drain in the browser SDK (docs/PROTOCOL.md §1.10): the server's {"type":"draining","deadline_ms":…}
// becomes a 'draining' event with {deadlineMs}; the connection itself stays up until the server closes it.
// A scripted WebSocket and RTCPeerConnection, as in redirect-reconnect.test.mjs.
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';

class FakeWebSocket {
  static OPEN = 1;
  static last = null;
  constructor(url) {
    this.url = url;
    this.readyState = FakeWebSocket.OPEN;
    this.sent = [];
    FakeWebSocket.last = this;
  }
  send(text) { this.sent.push(JSON.parse(text)); }
  close(code) { this.readyState = 3; this.closed = code; }
  deliver(msg) { this.onmessage({ data: JSON.stringify(msg) }); }
}

class FakePeerConnection {
  static last = null;
  constructor() {
    this.iceConnectionState = 'new';
    this.connectionState = 'new';
    FakePeerConnection.last = this;
  }
  async setRemoteDescription(d) { this.remoteDescription = d; }
  async createAnswer() { return { type: 'answer', sdp: 'v=0\r\na=ice-ufrag:b\r\n' }; }
  async setLocalDescription(d) { this.localDescription = d; }
  getTransceivers() { return []; }
  close() { this.closed = true; }
  set(ice, connection) {
    this.iceConnectionState = ice;
    this.connectionState = connection;
    if (this.onconnectionstatechange) this.onconnectionstatechange();
  }
}

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-ufrag:s\r\na=ice-pwd:p\r\n';
const flush = async () => { for (let i = 0; i < 20; i++) await Promise.resolve(); };

let Veil;
beforeEach(async () => {
  globalThis.WebSocket = FakeWebSocket;
  globalThis.RTCPeerConnection = FakePeerConnection;
  ({ default: Veil } = await import('../../src/veil.js'));
});

afterEach(() => {
  delete globalThis.WebSocket;
  delete globalThis.RTCPeerConnection;
});

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
