// Types of the Veil browser SDK (veil.js).

export type Role = 'sendrecv' | 'sendonly' | 'recvonly';

export interface ConnectionOptions {
  /** Send audio (default true; only with a stream that has an audio track). */
  audio?: boolean;
  /** Send video (default true; only with a stream that has a video track). */
  video?: boolean;
  /** End-to-end encrypt the media (needs a server with e2ee = true; see issue 4's E2EE layer). */
  e2ee?: boolean;
  /** JSON shown to the other members of the channel in notify (e.g. a display name, an E2EE key bundle). */
  signalingNotifyMetadata?: unknown;
  /** Milliseconds connect() waits for media before it rejects (default 30000). */
  timeout?: number;
  /** Use createEncodedStreams (Chrome's insertable streams) instead of RTCRtpScriptTransform for E2EE. */
  encodedInsertableStreams?: boolean;
}

export interface TrackEvent {
  track: MediaStreamTrack;
  streams: readonly MediaStream[];
  receiver: RTCRtpReceiver;
  transceiver: RTCRtpTransceiver;
  /** The publisher's connection id (the remote stream's id). */
  connectionId: string | null;
}

export interface RemoveTrackEvent {
  track: MediaStreamTrack;
  stream: MediaStream;
  connectionId: string;
}

export interface NotifyMember {
  connection_id: string;
  role: Role;
  signaling_notify_metadata?: unknown;
}

export interface NotifyMessage {
  type: 'notify';
  event_type: 'connection.created' | 'connection.destroyed';
  connection_id: string;
  role: Role;
  signaling_notify_metadata?: unknown;
  /** Only in the newcomer's own connection.created: the members already in the channel. */
  data?: NotifyMember[];
  channel_connections: number;
}

export interface DisconnectEvent {
  /** 'normal' after disconnect(); 'abend' when the server, the network or a timeout ended the connection. */
  type: 'normal' | 'abend';
  reason: string;
  message?: string;
}

export interface E2eeHandler {
  onOffer?(connection: VeilConnection, offer: { connection_id: string; sdp: string; e2ee: boolean }): void | Promise<void>;
  onNotify?(connection: VeilConnection, msg: NotifyMessage): void;
  onMessage?(connection: VeilConnection, from: string, payloadBase64: string): void;
  setupSender?(connection: VeilConnection, sender: RTCRtpSender): void | Promise<void>;
  setupReceiver?(connection: VeilConnection, receiver: RTCRtpReceiver, connectionId: string | null): void;
  close?(connection: VeilConnection): void;
}

export declare class VeilError extends Error {
  /** 'timeout' | 'signaling' | 'media' | 'sdp' | 'bad-argument' | 'bad-state' | 'disconnected' */
  readonly reason: string;
}

export declare class VeilConnection {
  readonly role: Role;
  readonly channelId: string;
  /** The RTCPeerConnection, once the offer has arrived. */
  readonly pc: RTCPeerConnection | null;
  /** This connection's id, given by the server in the offer. */
  readonly connectionId: string | null;
  /** The other members: connection_id → role and signaling_notify_metadata. */
  readonly members: Map<string, { role: Role; signalingNotifyMetadata: unknown }>;
  /** Remote streams by the publisher's connection id. */
  readonly remoteStreams: Map<string, MediaStream>;
  /** Joins; resolves once ICE and DTLS are connected, rejects with a VeilError that says why. */
  connect(stream?: MediaStream | null): Promise<MediaStream | null>;
  /** Leaves the channel; never rejects. */
  disconnect(): Promise<void>;
  on(event: 'track', fn: (ev: TrackEvent) => void): this;
  on(event: 'removetrack', fn: (ev: RemoveTrackEvent) => void): this;
  on(event: 'notify', fn: (msg: NotifyMessage) => void): this;
  on(event: 'disconnect', fn: (ev: DisconnectEvent) => void): this;
  /**
   * E2EE events (issue 4: keys, fingerprints, verification code, errors). Until then: an `error` from the server
   * after the connection is up (e.g. a dropped relay message) arrives as `{type: 'signaling-error', reason}`.
   */
  on(event: 'e2ee', fn: (ev: unknown) => void): this;
  on(event: 'signaling', fn: (msg: unknown) => void): this;
  on(event: 'timeout', fn: (ev: unknown) => void): this;
  off(event: string, fn: (...args: any[]) => void): this;
  /** Sends an opaque E2EE message through the server's relay to one member. */
  sendE2ee(to: string, payloadBase64: string): void;
  setE2eeHandler(handler: E2eeHandler | null): void;
}

export declare class VeilSignaling {
  readonly url: string;
  sendrecv(channelId: string, metadata?: unknown, options?: ConnectionOptions): VeilConnection;
  sendonly(channelId: string, metadata?: unknown, options?: ConnectionOptions): VeilConnection;
  recvonly(channelId: string, metadata?: unknown, options?: ConnectionOptions): VeilConnection;
}

export declare function parseSections(sdp: string): { mid: string | null; kind: string; direction: string; port: number; msid: string | null }[];

declare const Veil: {
  readonly version: string;
  connection(url: string): VeilSignaling;
  VeilError: typeof VeilError;
};
export default Veil;
