package dev.veil.server;

import dev.veil.webrtc.sdp.SdpAnswer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The congestion control of one {@link RtcPeer}, both ways, and their timers on its media loop: the feedback on what
 * it publishes ({@link UplinkCc}), the estimate of what it is sent ({@link DownlinkCc}: stamping, feedback, padding
 * probes) and the simulcast layers that estimate affords it ({@link DownlinkLayers}). Each is null until an answer
 * accepted it.
 */
final class RtcPeerCc {
  /** Logs as the peer (operators filter on that logger). */
  private static final Logger LOG = LoggerFactory.getLogger(RtcPeer.class);
  /** Room a forwarded packet may grow into for the transport-wide sequence element (the SRTP tag, ≤ 16, after it). */
  private static final int STAMP_ROOM = dev.veil.webrtc.router.Router.FORWARD_TAIL_ROOM - 16;

  private final RtcPeer peer;
  private final MediaLane media;
  /** Uplink congestion control (transport-cc feedback or REMB), once the answer accepted it; else null. */
  private UplinkCc uplink;
  private EventLoop.Timer ccTimer;
  private long ccTimerAt = Long.MAX_VALUE;
  /** Downlink congestion control (stamping + estimate), once an answer accepted it on a sending m-line; else null. */
  private DownlinkCc downlink;
  /** The downlink estimate's layer choice (set with downlink). */
  private DownlinkLayers layers;
  private EventLoop.Timer dlTimer;
  private long dlTimerAt = Long.MAX_VALUE;

  RtcPeerCc(RtcPeer peer) {
    this.peer = peer;
    this.media = peer.media;
  }

  /** The first answer with uploads: feedback on them if it accepted transport-cc or goog-remb. */
  void negotiateUplink(SdpAnswer a, List<String> mids, List<Long> ssrcs) {
    // (a simulcast upload names no SSRC in the answer: REMB then lists only the others; transport-cc needs none)
    uplink = UplinkCc.negotiate(a, mids, ssrcs, peer.channel.router.rtcpSsrc());
    LOG.info("{} uplink congestion control: {}", peer.connectionId, uplink == null ? "none" : uplink.mode());
  }

  /** The first answer that accepted downlink congestion control on a sending m-line starts it. */
  void negotiateDownlink(SdpAnswer a) {
    if (downlink == null && RtcPeerSdp.DOWNLINK_CC && !peer.tracks.isEmpty()) {
      downlink = DownlinkCc.negotiate(a, peer.tracks.mids(), media.random().nextInt(0x10000));
      if (downlink != null) {
        layers = new DownlinkLayers(downlink.probes(), peer.connectionId);
        LOG.info("{} downlink congestion control: {}{}", peer.connectionId, downlink.mode(),
            downlink.probes().probing() ? " with padding probes" : "");
      }
    }
  }

  boolean hasDownlink() {
    return downlink != null;
  }

  /** Stamps an outgoing packet (a copy with the transport-wide sequence number); only with {@link #hasDownlink}. */
  byte[] stamp(byte[] plain) {
    byte[] stamped = downlink.onSend(plain, TimeUnit.NANOSECONDS.toMicros(media.loop().nowNanos()));
    runDownlink(media.nowMillis());
    return stamped;
  }

  /**
   * Stamps a forwarded packet in place ({@code buf} has {@code Router.FORWARD_TAIL_ROOM} after it); returns its new
   * length. Only with {@link #hasDownlink}.
   */
  int stampInPlace(byte[] buf, int off, int len) {
    long nanos = media.loop().nowNanos();
    int plain = downlink.onSendInPlace(buf, off, len, len + STAMP_ROOM, TimeUnit.NANOSECONDS.toMicros(nanos));
    runDownlink(TimeUnit.NANOSECONDS.toMillis(nanos));
    return plain;
  }

  /** A received RTP packet (before RTX unwrapping): uplink feedback. */
  void onRtp(byte[] buf, int off, int len) {
    if (uplink != null) {
      long now = media.nowMillis();
      uplink.onRtp(buf, off, len, TimeUnit.NANOSECONDS.toMicros(media.loop().nowNanos()), now);
      runUplink(now);
    }
  }

  /** A received RTCP packet: downlink feedback, then the layers it affords. */
  void onRtcp(byte[] buf, int off, int len) {
    if (downlink != null) {
      long now = media.nowMillis();
      // (the estimator parses the compound into records anyway: a copy of the receive buffer's bytes costs little)
      downlink.onRtcp(off == 0 && len == buf.length ? buf : java.util.Arrays.copyOfRange(buf, off, off + len), now);
      chooseLayers(now);
      runDownlink(now);
    }
  }

  /** Sends the feedback that is due and re-arms the uplink timer. */
  private void runUplink(long now) {
    if (peer.isClosed() || uplink == null) {
      return;
    }
    if (uplink.nextTimeoutMillis() <= now) {
      uplink.poll(now);
      byte[] rtcp;
      while ((rtcp = uplink.pollRtcp()) != null) {
        peer.sendRtcp(rtcp);
      }
    }
    long next = uplink.nextTimeoutMillis();
    if (next == ccTimerAt && (ccTimer != null || next == Long.MAX_VALUE)) {
      return;
    }
    if (ccTimer != null) {
      ccTimer.cancel();
      ccTimer = null;
    }
    ccTimerAt = next;
    if (next == Long.MAX_VALUE) {
      return;
    }
    ccTimer = media.loop().schedule(TimeUnit.MILLISECONDS.toNanos(Math.max(0, next - now)), () -> {
      ccTimer = null;
      ccTimerAt = Long.MAX_VALUE;
      runUplink(media.nowMillis());
    });
  }

  /**
   * Re-chooses this subscriber's simulcast layers from its downlink estimate (after each feedback: the estimate and
   * the layers' measured bitrates move with it).
   */
  void chooseLayers(long now) {
    if (peer.isClosed() || downlink == null || peer.tracks.isEmpty()) {
      return;
    }
    List<String> ids = new ArrayList<>(peer.tracks.size());
    List<Integer> heights = new ArrayList<>(peer.tracks.size());
    peer.tracks.startedLayers(ids, heights);
    layers.apply(peer.channel.router, downlink.estimateBps(), downlink.lastCongestionMillis(),
        downlink.lastRembMillis(), ids, heights, now);
    media.routers.drain(peer.channel);
  }

  /** Runs the downlink estimator's feedback timeout if due and re-arms its timer. */
  private void runDownlink(long now) {
    if (peer.isClosed() || downlink == null) {
      return;
    }
    if (downlink.nextTimeoutMillis() <= now && downlink.poll(now)) {
      chooseLayers(now);
    }
    // padding probes (a cluster started by chooseLayers, or its packets now due): on the transport, not the router
    if (downlink.probesDue()) {
      downlink.sendProbes(peer.channel.router, peer.tracks.consumerIds(),
          TimeUnit.NANOSECONDS.toMicros(media.loop().nowNanos()), peer::sendProbe);
    }
    long next = downlink.nextTimeoutMillis();
    if (next == dlTimerAt && (dlTimer != null || next == Long.MAX_VALUE)) {
      return;
    }
    if (dlTimer != null) {
      dlTimer.cancel();
      dlTimer = null;
    }
    dlTimerAt = next;
    if (next == Long.MAX_VALUE) {
      return;
    }
    dlTimer = media.loop().schedule(TimeUnit.MILLISECONDS.toNanos(Math.max(0, next - now)), () -> {
      dlTimer = null;
      dlTimerAt = Long.MAX_VALUE;
      runDownlink(media.nowMillis());
    });
  }

  /** The downlink estimate measured from feedback, 0 without downlink congestion control. */
  long measuredEstimateBps() {
    return downlink == null ? 0 : downlink.measuredEstimateBps();
  }

  void addCounters(Map<String, Long> out) {
    if (uplink != null) {
      uplink.addCounters(out);
    }
    if (downlink != null) {
      downlink.addCounters(out);
      layers.addCounters(out);
    }
  }

  void addGauges(Map<String, Long> out) {
    if (downlink != null) {
      downlink.addGauges(out);
    }
  }

  void cancelTimers() {
    if (ccTimer != null) {
      ccTimer.cancel();
      ccTimer = null;
    }
    if (dlTimer != null) {
      dlTimer.cancel();
      dlTimer = null;
    }
  }
}
