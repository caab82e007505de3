package dev.veil.server;

import dev.veil.webrtc.router.Consumer;
import dev.veil.webrtc.router.ConsumerParams;
import dev.veil.webrtc.router.Producer;
import dev.veil.webrtc.sdp.Codec;
import dev.veil.webrtc.sdp.Extmap;
import dev.veil.webrtc.sdp.MediaKind;
import dev.veil.webrtc.sdp.SdpAnswer;
import dev.veil.webrtc.sdp.SdpOfferer;
import dev.veil.webrtc.sdp.SendTrack;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tracks one {@link RtcPeer} receives: a sendonly m-line per forwarded track, the router consumer behind it
 * (started once the subscriber's answer accepted it and its transport is connected), and the subscriber's picture
 * height limits. Runs on the peer's media loop.
 */
final class RtcPeerTracks {
  /** Logs as the peer (operators filter on that logger). */
  private static final Logger LOG = LoggerFactory.getLogger(RtcPeer.class);

  /** A forwarded track on one of this peer's sendonly m-lines. */
  private static final class Sending {
    final String mid;
    final long ssrc;
    /** The RTX SSRC announced with {@code ssrc} (video), or 0. */
    final long rtxSsrc;
    String trackId;
    /** Accepted by the subscriber's answer, started once its transport is connected. */
    ConsumerParams pending;
    String consumerId;
    /** The subscriber's picture height limit for this track (receive message), -1 for the connection's. */
    int maxHeight = -1;

    Sending(String mid, long ssrc, long rtxSsrc) {
      this.mid = mid;
      this.ssrc = ssrc;
      this.rtxSsrc = rtxSsrc;
    }
  }

  private final RtcPeer peer;
  private final MediaLane media;
  private final ChannelRouters.Channel channel;
  /** Forwarded track id → its m-line. */
  private final Map<String, Sending> sending = new LinkedHashMap<>();
  /** The largest picture height this peer wants to receive (simulcast layer choice), 0 for no limit. */
  private int receiveMaxHeight;

  RtcPeerTracks(RtcPeer peer) {
    this.peer = peer;
    this.media = peer.media;
    this.channel = peer.channel;
  }

  boolean isEmpty() {
    return sending.isEmpty();
  }

  int size() {
    return sending.size();
  }

  /** The mids of the sendonly m-lines. */
  List<String> mids() {
    return sending.values().stream().map(x -> x.mid).toList();
  }

  /** The started consumers. */
  List<String> consumerIds() {
    return sending.values().stream().map(x -> x.consumerId).filter(java.util.Objects::nonNull).toList();
  }

  /** The started consumers and each one's picture height limit, in m-line order. */
  void startedLayers(List<String> ids, List<Integer> heights) {
    for (Sending s : sending.values()) {
      if (s.consumerId != null) {
        ids.add(s.consumerId);
        heights.add(s.maxHeight >= 0 ? s.maxHeight : receiveMaxHeight);
      }
    }
  }

  /**
   * The sendonly m-lines of the next offer: one added for each new track of {@code receive}, the others' removed
   * (and their consumers closed).
   */
  void offer(List<Media.Track> receive, SdpOfferer sdp) {
    Set<String> wanted = new HashSet<>();
    for (Media.Track t : receive) {
      wanted.add(t.id());
      if (!sending.containsKey(t.id())) {
        Producer p = channel.router.findProducer(t.id());
        if (p == null) {
          continue;
        }
        long ssrc = channel.router.newSsrc();
        long rtxSsrc = RtcPeerSdp.DOWNLINK_RTX && p.kind() == MediaKind.VIDEO ? channel.router.newSsrc() : 0;
        String mid = sdp.addSendOnly(p.kind(), new SendTrack(t.ownerConnectionId(), t.id(), ssrc,
            t.ownerConnectionId(), rtxSsrc));
        sending.put(t.id(), new Sending(mid, ssrc, rtxSsrc));
      }
    }
    for (var it = sending.entrySet().iterator(); it.hasNext(); ) {
      var e = it.next();
      if (!wanted.contains(e.getKey())) {
        // rejected in this offer, recycled for a new track of its kind once the answer is in: the SDP stays
        // proportional to the current tracks however many come and go
        sdp.remove(e.getValue().mid);
        closeConsumer(e.getValue());
        it.remove();
      }
    }
  }

  /** Subscribes to each track the answer {@code a} accepted and that has no consumer yet. */
  void consumeAnswered(SdpAnswer a) {
    for (Map.Entry<String, Sending> e : sending.entrySet()) {
      if (e.getValue().consumerId == null && e.getValue().pending == null) {
        consume(a, e.getKey(), e.getValue());
      }
    }
  }

  /** The transport is connected: start the accepted consumers. */
  void startAll() {
    for (Sending sn : sending.values()) {
      startConsumer(sn);
    }
  }

  void setReceiveMaxHeight(int maxHeight, String trackId) {
    if (trackId == null) {
      receiveMaxHeight = Math.max(0, maxHeight);
    } else {
      Sending s = sending.get(trackId);
      if (s == null) {
        return; // not a track this peer receives (now): nothing to remember, so nothing to bound
      }
      s.maxHeight = Math.max(0, maxHeight);
    }
    for (Sending s : sending.values()) {
      applyMaxHeight(s);
    }
    media.routers.drain(channel);
  }

  /** Tells the router the layer policy of a started consumer of a simulcast track. */
  private void applyMaxHeight(Sending s) {
    if (s.consumerId == null) {
      return;
    }
    Consumer c = channel.router.findConsumer(s.consumerId);
    if (c != null && !c.closed() && c.producer() != null && c.simulcast()) {
      channel.router.setPreferredMaxHeight(s.consumerId, s.maxHeight >= 0 ? s.maxHeight : receiveMaxHeight,
          media.nowMillis());
    }
  }

  private void consume(SdpAnswer a, String trackId, Sending s) {
    Producer p = channel.router.findProducer(trackId);
    Optional<SdpAnswer.Media> m = a.media(s.mid);
    if (p == null || p.closed() || m.isEmpty() || m.get().rejected() || !m.get().direction().receives()) {
      return;
    }
    if (!m.get().payloadTypes().contains(p.payloadType())) {
      LOG.info("{} cannot receive {}: payload type {} not in its answer", peer.connectionId, trackId,
          p.payloadType());
      return;
    }
    int midExt = m.get().extmapId(Extmap.SDES_MID).orElse(0);
    s.pending = new ConsumerParams(s.ssrc, p.payloadType(), p.peerId(), midExt, s.mid);
    if (s.rtxSsrc != 0) {
      // RTX if the answer kept an rtx payload type for the forwarded codec; else same-SSRC retransmission
      for (int pt : m.get().payloadTypes()) {
        Codec c = m.get().codec(pt).orElse(null);
        if (c != null && "rtx".equalsIgnoreCase(c.name())
            && java.util.Arrays.stream(c.fmtp().split(";")).map(String::trim)
                .anyMatch(f -> f.equals("apt=" + p.payloadType()))) {
          s.pending = s.pending.withRtx(s.rtxSsrc, pt);
          break;
        }
      }
    }
    s.trackId = trackId;
    if (peer.transport.isConnected()) {
      startConsumer(s);
    }
    // else: nothing can reach the subscriber before DTLS-SRTP is up; the consumer starts (and asks the publisher
    // for a key frame) on Connected, so the first frame the subscriber gets is a decodable one.
  }

  private void startConsumer(Sending s) {
    if (s.pending == null || channel.router.findProducer(s.trackId) == null) {
      return;
    }
    String consumerId = peer.connectionId + "/" + s.trackId;
    channel.router.createConsumer(consumerId, peer.connectionId, s.trackId, s.pending, media.nowMillis())
        .attach(peer);
    s.consumerId = consumerId;
    if (receiveMaxHeight > 0 || s.maxHeight > 0) {
      applyMaxHeight(s);
    }
    s.pending = null;
    if (peer.cc.hasDownlink()) {
      peer.cc.chooseLayers(media.nowMillis()); // the first layer: one the estimate (still the initial guess) affords
    }
  }

  private void closeConsumer(Sending s) {
    s.pending = null;
    if (s.consumerId != null) {
      Consumer c = channel.router.findConsumer(s.consumerId);
      if (c != null && !c.closed()) {
        channel.router.closeConsumer(s.consumerId);
      }
      s.consumerId = null;
    }
  }

  /** Per forwarded video track: its layer, switches and repair, at most {@code DownlinkStats.MAX_TRACKS}. */
  List<dev.veil.signaling.DownlinkStats.Track> stats() {
    List<dev.veil.signaling.DownlinkStats.Track> tracks = new ArrayList<>();
    for (Sending s : sending.values()) {
      Consumer c = s.consumerId == null ? null : channel.router.findConsumer(s.consumerId);
      if (c != null && !c.closed() && c.producer() != null && c.producer().kind() == MediaKind.VIDEO
          && tracks.size() < dev.veil.signaling.DownlinkStats.MAX_TRACKS) {
        tracks.add(new dev.veil.signaling.DownlinkStats.Track(s.trackId, c.layer(), c.layerSwitches(),
            c.retransmissionsSent(), c.nacksReceived(), c.keyFrameRequests()));
      }
    }
    return tracks;
  }
}
