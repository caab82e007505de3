// Scripted stand-ins for the browser's WebSocket and RTCPeerConnection, for the SDK tests in test/sdk that run
// src/veil.js in node: the test plays the server (`ws.deliver(msg)`, `ws.onopen()`, `ws.drop()`) and the browser's
// media stack (`FakePeerConnection.last.set('connected', 'connected')`). installFakes() puts them on globalThis and
// imports the SDK; removeFakes() takes them off again.

/** A WebSocket the test drives; every socket the SDK opened is in FakeWebSocket.all (reset by installFakes). */
export class FakeWebSocket {
  static OPEN = 1;
  static all = [];
  constructor(url) {
    this.url = url;
    this.readyState = FakeWebSocket.OPEN;
    this.sent = [];
    FakeWebSocket.all.push(this);
  }
  /** The socket the SDK opened last. */
  static get last() { return FakeWebSocket.all.at(-1); }
  send(text) { this.sent.push(JSON.parse(text)); }
  /** The SDK closes the socket: `closed` holds the code it gave (undefined until then). */
  close(code) { this.readyState = 3; this.closed = code; }
  /** The server sends `msg`. */
  deliver(msg) { this.onmessage({ data: JSON.stringify(msg) }); }
  /** The types of the messages the SDK sent, in order. */
  types() { return this.sent.map(m => m.type); }
  /** The server side goes away (a crashed node): the browser reports a close. */
  drop(code = 1006) { this.readyState = 3; if (this.onclose) this.onclose({ code, reason: '' }); }
}

/** An RTCPeerConnection that answers any offer and whose states the test sets. */
export class FakePeerConnection {
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
  /** The peer connection's ICE and connection states change (the connection state is reported). */
  set(ice, connection) {
    this.iceConnectionState = ice;
    this.connectionState = connection;
    if (this.onconnectionstatechange) this.onconnectionstatechange();
  }
}

/** A minimal server offer (ICE credentials only): enough for the fake peer connection. */
export const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-ufrag:s\r\na=ice-pwd:p\r\n';

/** Lets the SDK's pending promise reactions run. */
export const flush = async () => { for (let i = 0; i < 20; i++) await Promise.resolve(); };

/** Puts the fakes (`peerConnection`: FakePeerConnection or a subclass) on globalThis; the SDK's default export. */
export async function installFakes(peerConnection = FakePeerConnection) {
  FakeWebSocket.all = [];
  globalThis.WebSocket = FakeWebSocket;
  globalThis.RTCPeerConnection = peerConnection;
  const { default: Veil } = await import('../../src/veil.js');
  return Veil;
}

export function removeFakes() {
  delete globalThis.WebSocket;
  delete globalThis.RTCPeerConnection;
}
