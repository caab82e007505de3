package dev.veil.server;

import dev.veil.signaling.Connect;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** One WebSocket and, after connect, one member of a channel. Touched on the loop only. */
final class Conn {
  enum State { NEW, OFFERED, ACTIVE, CLOSED }

  final WsPeer ws;
  /** The source address key the admission limits count ({@link Admission#addressKey}). */
  final String address;
  /** What is queued to this socket and not yet written. */
  final Outbound out;
  /** Everything this socket sends, any type. */
  final TokenBucket inBucket;
  /** Error replies that do not close the socket (coalesced past this bucket). */
  final TokenBucket errorBucket;
  State state = State.NEW;
  /** Counted in the pending budget of {@link Admission}. */
  boolean pending;
  /** Counted in the joined budget of {@link Admission}. */
  boolean joined;
  /** The outbound queue failed (past a bound or stalled): nothing more is sent, the socket is being dropped. */
  boolean outboundFailed;
  /** The transport reported the socket closed. */
  boolean socketClosed;
  /** The hard close that follows a graceful close the client does not complete. */
  Scheduler.Cancellable hardClose;
  String id;
  Connect connect;
  /** The connect waits for the auth webhook's answer. */
  boolean authorizing;
  Channel channel;
  Media.Peer peer;
  List<Media.Track> published = List.of();
  /** The ids of the tracks in the last (re-)offer sent to this connection. */
  Set<String> offeredTracks = Set.of();
  boolean reofferInFlight;
  boolean reofferWanted;
  /** The client asked for an ICE restart that the next re-offer carries. */
  boolean iceRestartWanted;
  /** Loop time of the last accepted ice-restart, or null. */
  Long lastIceRestartNanos;
  int missedPongs;
  Scheduler.Cancellable deadline;
  Scheduler.Cancellable pinger;
  /** The downlink-stats report timer (receiving roles) and the last report sent. */
  Scheduler.Cancellable downlinkTimer;
  dev.veil.signaling.DownlinkStats lastDownlinkStats;
  /** Wall-clock milliseconds past which the connect's access token is no longer valid (MAX_VALUE: none). */
  long tokenExpiresAtMillis = Long.MAX_VALUE;
  /** The disconnect at the token's expiry, or null. */
  Scheduler.Cancellable tokenExpiry;
  TokenBucket e2eeBucket;
  TokenBucket dataBucket;

  Conn(WsPeer ws, String address, Outbound out, TokenBucket inBucket, TokenBucket errorBucket) {
    this.ws = ws;
    this.address = address;
    this.out = out;
    this.inBucket = inBucket;
    this.errorBucket = errorBucket;
  }

  @Override
  public String toString() {
    return id != null ? id : "ws@" + ws.remote();
  }

  /** The members of one channel. */
  static final class Channel {
    final String id;
    final boolean e2ee;
    /** The E2EE key mode ({@code sender-keys} or {@code mls}), null without e2ee. */
    final String keyMode;
    /**
     * In a cluster, the epoch of the channel's lease (this node's own, or for a relay node of a cascade the owner's;
     * docs/PROTOCOL.md §1.9.4); 0 until known.
     */
    long epoch;
    /** A relay node's copy of a cascaded channel (docs/PROTOCOL.md §1.9.3): the lease is another node's. */
    boolean relay;
    /** Every connection that has been sent its offer, in joining order. */
    final Map<String, Conn> members = new LinkedHashMap<>();

    Channel(String id, boolean e2ee) {
      this(id, e2ee, e2ee ? dev.veil.signaling.Connect.KEY_MODE_SENDER_KEYS : null);
    }

    Channel(String id, boolean e2ee, String keyMode) {
      this.id = id;
      this.e2ee = e2ee;
      this.keyMode = keyMode;
    }

    boolean mls() {
      return dev.veil.signaling.Connect.KEY_MODE_MLS.equals(keyMode);
    }

    List<Conn> active() {
      List<Conn> out = new ArrayList<>();
      for (Conn c : members.values()) {
        if (c.state == State.ACTIVE) {
          out.add(c);
        }
      }
      return out;
    }
  }
}
