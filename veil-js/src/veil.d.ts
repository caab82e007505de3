// Types of the Veil browser SDK (veil.js).

export type Role = 'sendrecv' | 'sendonly' | 'recvonly';

export interface ConnectionOptions {
  /** reconnecting() only: first backoff ceiling in ms (default 250; delays are half to all of min(max, base·2^n)). */
  reconnectBaseMs?: number;
  /** reconnecting() only: largest backoff in ms (default 2000). */
  reconnectMaxMs?: number;
  /** reconnecting() only: attempts in a row before giving up (default 30). */
  reconnectAttempts?: number;
  /** Send audio (default true; only with a stream that has an audio track). */
  audio?: boolean;
  /** Send video (default true; only with a stream that has a video track). */
  video?: boolean;
  /** End-to-end encrypt the media (needs a server with e2ee = true). Fails closed: nothing goes out in clear. */
  e2ee?: boolean;
  /**
   * Video codecs to send, in order of preference, e.g. ['AV1', 'VP9', 'H264', 'VP8'] (the first one the server
   * offers and the browser encodes wins). With E2EE only codecs the worker protects are negotiated (SFrame: VP8, VP9,
   * H264, AV1; JFrame: VP8, VP9); a frame of any other codec is dropped with an 'e2ee' error event, never sent in clear.
   */
  codecs?: string[];
  /** Ask the server for a second video uplink for screen sharing (startScreenShare / stopScreenShare). */
  screenShare?: boolean;
  /** E2EE frame format: 'sframe' (RFC 9605, default) or 'jframe' (lib-jitsi-meet's). */
  e2eeFormat?: 'sframe' | 'jframe';
  /**
   * Sender-keys sub-mode (giving it selects keyMode 'sender-keys' by default). Default: 'passphrase' when
   * `passphrase` is given or the page URL has "#e2eekey=…", else 'keys' (the group key manager: keys through the
   * server's relay, ratchet on join, fresh key on leave).
   */
  e2eeMode?: 'keys' | 'passphrase';
  /** Passphrase mode: the passphrase (else it is read from "#e2eekey=…" and follows hashchange). No key messages. */
  passphrase?: string;
  /**
   * How the channel agrees on keys (connect's e2ee_key_mode, always sent): 'mls' (the default: one MLS group per
   * channel, RFC 9420 suite 1 on ts-mls; SFrame keys from the MLS exporter, RFC 9605 §5.2; the code from the epoch
   * authenticator; docs/PROTOCOL.md §4) or 'sender-keys' (Sora-style: e2eeMode above, §3). Without keyMode the
   * default is 'sender-keys' only when the options ask for what MLS cannot do: a passphrase (`passphrase` or
   * "#e2eekey=…" in the page URL), an `e2eeMode`, or `e2eeFormat: 'jframe'`. Needs `e2ee: true`; 'mls' excludes
   * passphrase and JFrame. Any other value is refused (VeilError 'bad-argument'), never replaced by another mode; a
   * channel in the other mode refuses the connection (key_mode_mismatch). The connection shows it: e2eeKeyMode.
   */
  keyMode?: 'sender-keys' | 'mls';
  /**
   * keyMode 'mls': a group this connection founds names the server as MLS external sender (docs/PROTOCOL.md §4.8),
   * so the server proposes adds and removals (each checked against the announced membership). Default false. The
   * server's proposals are processed in any group that names it, whoever founded it.
   */
  mlsExternalSender?: boolean;
  /** Tests only: keep copies of the keys so `connection.e2ee.exportKeysForTesting()` can return them. */
  keepKeysForTesting?: boolean;
  /** URL of the E2EE worker script (default: e2ee/worker.js beside veil.js). */
  e2eeWorkerUrl?: string | URL;
  /**
   * A persistent device identity: a non-extractable Ed25519 key kept in IndexedDB (database "veil-e2ee", or
   * `dbName`) certifies each connection's fresh identity, so `e2eeDeviceFingerprint` is the same from call to call;
   * peer verifications (`markVerified(fp)`) are remembered there too. With keyMode 'mls' the device key vouches
   * for the MLS credential instead (docs/PROTOCOL.md §4.9).
   */
  e2eePersistentIdentity?: boolean | { dbName?: string };
  /** How long a member claiming a verified name may take to show its device certificate (default 5000 ms). */
  e2eeDeviceCertificateGraceMs?: number;
  /** JSON shown to the other members of the channel in notify (e.g. a display name, an E2EE key bundle). */
  signalingNotifyMetadata?: unknown;
  /** Milliseconds connect() waits for media before it rejects (default 30000). */
  timeout?: number;
  /**
   * Automatic ICE restarts in a row (default 3; 0 turns them off) when ICE stays 'disconnected' for 2 s or becomes
   * 'failed' after media was up; when they do not bring ICE back, the connection ends with a 'media' abend.
   */
  iceRestartAttempts?: number;
  /** Use createEncodedStreams (Chrome's insertable streams) instead of RTCRtpScriptTransform for E2EE. */
  encodedInsertableStreams?: boolean;
  /**
   * Send camera video as simulcast layers when the server offers them (default true): rids q, h, f at 1/4, 1/2 and
   * full resolution. false sends one layer (the SDK applies the server's offers without their a=rid/a=simulcast).
   */
  simulcast?: boolean;
  /**
   * Scalability mode of the camera video (W3C webrtc-svc), e.g. 'L1T3' (3 temporal layers) or 'L3T3_KEY' (3 spatial
   * x 3 temporal, VP9/AV1); with E2EE every layer's frame is encrypted on its own (docs/PROTOCOL.md §2.9). Spatial
   * modes want {simulcast: false}.
   */
  scalabilityMode?: string;
  /** Replaces the simulcast encodings, lowest layer first (default: scale 4/2/1, max 150k/500k/2.5M bit/s). */
  simulcastEncodings?: Array<{ scaleResolutionDownBy?: number; maxBitrate?: number; maxFramerate?: number }>;
  /** The largest picture height wanted of received simulcast video: the server forwards the highest layer that fits. */
  receiveMaxHeight?: number;
}

export interface TrackEvent {
  track: MediaStreamTrack;
  streams: readonly MediaStream[];
  receiver: RTCRtpReceiver;
  transceiver: RTCRtpTransceiver;
  /** The publisher's connection id (the remote stream's id). */
  connectionId: string | null;
  /** Whether this is the publisher's screen share (its second video uplink), not its camera. */
  screen: boolean;
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

/** An `e2ee` event; `time` is epoch milliseconds (performance.timeOrigin + performance.now()). */
export type E2eeEvent = { time: number } & (
  | { type: 'send-key'; kid: string }
  | { type: 'key-installed'; senderId: string; kid: string }
  | { type: 'key-used'; operation: 'encrypt' | 'decrypt'; senderId: string | null; kid: string }
  | { type: 'fingerprints'; self: string; remote: Record<string, string> }
  | { type: 'verification-code'; code: string }
  | { type: 'peers'; peers: E2eePeer[] }
  | { type: 'verified'; scope: 'room'; code: string }
  | { type: 'verified'; scope: 'peer'; connectionId: string; name: string | null; deviceFingerprint?: string; fingerprint?: string }
  /** The room code changed after markVerified(): compare it again. */
  | { type: 'verification-lost'; scope: 'room'; verifiedCode: string; code: string }
  /**
   * A member claims the name of a verified peer but shows another device key ('device-changed') or none within
   * the grace period ('no-device-certificate').
   */
  | { type: 'verification-lost'; scope: 'peer'; reason: 'device-changed' | 'no-device-certificate'; connectionId: string;
      name: string | null; verifiedFingerprints: string[]; deviceFingerprint: string | null }
  | {
      type: 'error';
      /** 'frames': a frame was dropped (reason 'no-key' | 'bad-tag' | 'replay' | 'truncated' | 'bad-header' | …);
       *  'keys': a key message or bundle was rejected; 'worker': a worker command failed. */
      source: 'frames' | 'keys' | 'worker' | 'device';
      reason: string;
      operation?: string;
      kind?: string;
      senderId?: string | null;
      from?: string;
      suppressed?: number;
      detail?: string;
    }
  | { type: 'signaling-error'; reason: string }
);

/** Another member as the E2EE layer sees it. */
export interface E2eePeer {
  connectionId: string;
  /** The name in its signaling_notify_metadata: relayed by the server, unverified. */
  name: string | null;
  /** Its connection fingerprint (fresh per connection). */
  fingerprint: string | null;
  /** Its persistent device fingerprint, once its device certificate verified; null without one. */
  deviceFingerprint: string | null;
  /** Its device (or, without one, connection) fingerprint was marked verified. */
  verified: boolean;
  /** The name it had when its device fingerprint was verified. */
  verifiedName: string | null;
  /** A verification-lost event was raised for it. */
  alarmed: boolean;
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
  /** 'timeout' | 'signaling' | 'media' | 'sdp' | 'e2ee' | 'e2ee-unsupported' | 'bad-argument' | 'bad-state' | 'disconnected' | 'ice-restart' */
  readonly reason: string;
}

/** A data message: `data` is a string when it was sent as one, else the bytes. `to` is set for a direct message. */
export interface DataEvent {
  from: string;
  to: string | null;
  data: string | Uint8Array;
}

/** The server's downlink-stats (docs/PROTOCOL.md §1.2): what it knows of the media it sends this connection. */
export interface DownlinkStats {
  /** Its estimate of this connection's downlink, bit/s (0: none: neither transport-cc nor REMB feedback yet). */
  estimateBps: number;
  /** Date.now() when it arrived. */
  receivedAt: number;
  /** Per received video track (trackId = the remote MediaStreamTrack's id). */
  tracks: { trackId: string; layer: number; switches: number; rtxSent: number; nacksReceived: number; plisSent: number }[];
}

/** Largest data message body in bytes. */
export declare const MAX_DATA_BYTES: number;

export declare class VeilConnection {
  /** The signaling URL in use: the one given, or the node a `redirect` named. */
  readonly url: string;
  /** Redirects this connect followed (at most MAX_REDIRECTS). */
  readonly redirects: number;
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
  /** The server's last downlink-stats, or null before the first. */
  readonly downlinkStats: DownlinkStats | null;
  /** The RTCPeerConnection's stats report (null before the offer) and the server's last downlink-stats. */
  getStats(): Promise<{ rtc: RTCStatsReport | null; downlink: DownlinkStats | null }>;
  /** This connection's E2EE identity fingerprint ("xxxx xxxx … xxxx", 16 groups), or null without E2EE. */
  readonly e2eeSelfFingerprint: string | null;
  /** connection_id → fingerprint of every other member whose key bundle verified ({} without E2EE). */
  readonly e2eeRemoteFingerprints: Record<string, string>;
  /** The room verification code, the same at every member of an unattacked call; changes on join and leave. */
  readonly e2eeVerificationCode: string | null;
  /** 'keys' | 'passphrase' | 'mls' with E2EE, else null. */
  readonly e2eeMode: 'keys' | 'passphrase' | 'mls' | null;
  /** The key mode this connection runs in: 'sender-keys' or 'mls' with E2EE, else null. */
  readonly e2eeKeyMode: 'sender-keys' | 'mls' | null;
  /** MLS key mode: the current MLS epoch (-1 before this member is in the group); null in other modes. */
  readonly e2eeEpoch: number | null;
  /** MLS key mode: the connection ids of the MLS roster (self included, leaf order); null in other modes. */
  readonly e2eeRoster: string[] | null;
  /** The persistent device fingerprint with `e2eePersistentIdentity`, else null. */
  readonly e2eeDeviceFingerprint: string | null;
  /** The other members, with claimed (unverified) names and their verification state. */
  readonly e2eePeers: E2eePeer[];
  /** True while the room code is the one marked verified. */
  readonly e2eeRoomVerified: boolean;
  /**
   * markVerified(): the room verification code was compared out of band and matches; markVerified(fingerprint): a
   * peer's device fingerprint (or connection fingerprint, for a peer without a device identity) was. Any later change
   * raises an 'e2ee' event of type 'verification-lost'. Rejects (reason 'unknown-fingerprint') if no peer has it.
   */
  markVerified(fingerprint?: string): Promise<void>;
  /** The E2EE state object (src/e2ee/index.js), for advanced use and tests (`exportKeysForTesting()`). */
  readonly e2ee: {
    exportKeysForTesting(): { send: { kid: string; key: string } | null; receive: Record<string, { kid: string; key: string }[]> };
    setPassphrase(passphrase: string | null): void;
  } | null;
  /** Joins; resolves once ICE and DTLS are connected, rejects with a VeilError that says why. */
  connect(stream?: MediaStream | null): Promise<MediaStream | null>;
  /** Leaves the channel; never rejects. */
  disconnect(): Promise<void>;
  /**
   * ICE restart (e.g. after a network change): the server re-offers with new ice-ufrag/ice-pwd, the browser answers
   * and checks with new credentials. Resolves once the re-offer is answered (then watch pc.iceConnectionState);
   * rejects with a VeilError, reason 'ice-restart' if the server refused (more than one per 2 s) or 'bad-state'
   * before media is up or after the connection ended. A call while a restart is pending joins it.
   */
  restartIce(): Promise<void>;
  /**
   * Received simulcast video at most `maxHeight` pixels high (0: no limit), for one remote video track (or its id)
   * or for every track without a preference of its own; the server switches layer at the next key frame.
   */
  setReceiveMaxHeight(maxHeight: number, track?: MediaStreamTrack | string): void;
  on(event: 'track', fn: (ev: TrackEvent) => void): this;
  on(event: 'removetrack', fn: (ev: RemoveTrackEvent) => void): this;
  on(event: 'notify', fn: (msg: NotifyMessage) => void): this;
  on(event: 'disconnect', fn: (ev: DisconnectEvent) => void): this;
  /**
   * E2EE events: keys (send-key, key-installed, key-used), fingerprints, verification-code, errors (a frame that
   * did not decrypt was dropped, and why). An `error` from the server after the connection is up (e.g. a dropped
   * relay message) arrives as `{type: 'signaling-error', reason}`.
   */
  on(event: 'e2ee', fn: (ev: E2eeEvent) => void): this;
  on(event: 'signaling', fn: (msg: unknown) => void): this;
  on(event: 'timeout', fn: (ev: unknown) => void): this;
  /** A data message of another member (decrypted and authenticated with E2EE; one that fails is an 'e2ee' error event with source 'data'). */
  on(event: 'data', fn: (ev: DataEvent) => void): this;
  /** The server's downlink-stats (about once a second, when it changed). */
  on(event: 'downlink-stats', fn: (stats: DownlinkStats) => void): this;
  off(event: string, fn: (...args: any[]) => void): this;
  /** Sends an opaque E2EE message through the server's relay to one member. */
  sendE2ee(to: string, payloadBase64: string): void;
  /** Sends a data message to `to` or to every other member; end-to-end encrypted with E2EE (docs/PROTOCOL.md §1.7). */
  sendData(data: string | Uint8Array | ArrayBuffer, options?: { to?: string | null }): Promise<void>;
  /** Shares `track` (or a getDisplayMedia() capture) on the screen-share uplink; needs {screenShare: true}. No renegotiation. */
  startScreenShare(track?: MediaStreamTrack): Promise<MediaStreamTrack>;
  /** Stops sharing (replaceTrack(null)) and stops the shared track. */
  stopScreenShare(): Promise<void>;
  readonly screenTrack: MediaStreamTrack | null;
  /** Mutes/unmutes the local audio or video (track.enabled): no renegotiation, silence / black frames are sent. */
  setMuted(kind: 'audio' | 'video', muted: boolean): void;
  /** Replaces the camera or microphone by `track` (replaceTrack, no renegotiation); returns the old track (not stopped). */
  replaceTrack(track: MediaStreamTrack): Promise<MediaStreamTrack | null>;
  setE2eeHandler(handler: E2eeHandler | null): void;
}

export declare class VeilSignaling {
  readonly url: string;
  /** Every signaling URL given (a cluster's nodes); the first is `url`. */
  readonly urls: string[];
  sendrecv(channelId: string, metadata?: unknown, options?: ConnectionOptions): VeilConnection;
  sendonly(channelId: string, metadata?: unknown, options?: ConnectionOptions): VeilConnection;
  recvonly(channelId: string, metadata?: unknown, options?: ConnectionOptions): VeilConnection;
  /** A member that reconnects on its own after a drop (docs/PROTOCOL.md §1.9). */
  reconnecting(role: 'sendrecv' | 'sendonly' | 'recvonly', channelId: string, metadata?: unknown,
    options?: ConnectionOptions): VeilReconnectingConnection;
}

/** Most `redirect`s one connect follows. */
export declare const MAX_REDIRECTS: number;

export interface ReconnectingEvent { attempt: number; delayMs: number; url: string; reason: string }
export interface ReconnectedEvent { attempts: number; downtimeMs: number; url: string; connection: VeilConnection }

/** A member that stays in its channel across node failures: a new VeilConnection after each drop. */
export declare class VeilReconnectingConnection {
  /** The connection in use (a new one, with a new connection id, after each reconnect). */
  readonly current: VeilConnection | null;
  readonly connectionId: string | null;
  on(event: 'reconnecting', fn: (ev: ReconnectingEvent) => void): this;
  on(event: 'reconnected', fn: (ev: ReconnectedEvent) => void): this;
  on(event: string, fn: (ev: any) => void): this;
  off(event: string, fn: (ev: any) => void): this;
  connect(stream: MediaStream | null): Promise<MediaStream | null>;
  disconnect(): Promise<void>;
}

export declare function parseSections(sdp: string): { mid: string | null; kind: string; direction: string; port: number; msid: string | null }[];

declare const Veil: {
  readonly version: string;
  /** Resolves where this browser can do E2EE; rejects with a VeilError (reason 'e2ee-unsupported') saying why not. */
  initE2EE(): Promise<void>;
  connection(url: string | string[]): VeilSignaling;
  VeilError: typeof VeilError;
};
export default Veil;
