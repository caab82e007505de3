package dev.veil.server.cluster.relay;

import dev.veil.webrtc.router.ConsumerParams;
import dev.veil.webrtc.sdp.MediaKind;
import dev.veil.webrtc.router.Producer;
import dev.veil.webrtc.router.ProducerParams;
import dev.veil.webrtc.router.Router;
import dev.veil.webrtc.router.RouterOutput;
import dev.veil.webrtc.rtp.RtpCodec;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Joins a channel's router on this node to its router on another node through a {@link RelayLink}
 * (docs/PROTOCOL.md §1.9.3), sans-IO and confined to the thread that owns the router. The other node appears in
 * this router as one peer, {@link #linkPeer()}: a local producer is <em>exported</em> by giving that peer a consumer
 * of it (its packets leave through the link, payloads untouched), and a track of the other node is <em>imported</em>
 * as a producer of that peer, fed by the link. RTCP follows the router's own rules: feedback of this node's
 * subscribers on an imported track (NACK misses, PLI/FIR, receiver reports) is addressed to the link peer and crosses
 * to the origin; feedback arriving from the link on an exported track is the link peer's, as a subscriber's would be.
 *
 * <p>Usage per step: hand every {@link RouterOutput} of the router to {@link #offer} first (it takes the ones for the
 * link peer), then call {@link #pumpLink} to feed what the link received into the router.
 */
public final class CascadeBridge {
  /** A track as one node announces it to the other: enough to make it a producer there. */
  public record RemoteTrack(String trackId, MediaKind kind, RtpCodec codec, int payloadType, int clockRate,
      long ssrc) {
    public RemoteTrack {
      Objects.requireNonNull(trackId, "trackId");
      Objects.requireNonNull(kind, "kind");
      Objects.requireNonNull(codec, "codec");
    }
  }

  /** Where the bridge sends packets for the other node: a {@link RelayLink} (sans-IO) or a {@link RelayTransport}. */
  @FunctionalInterface
  public interface LinkPort {
    /** Relays one packet to the other node; false if it was dropped. */
    boolean send(boolean rtcp, byte[] packet, int off, int len, long nowMillis);
  }

  private final Router router;
  private final RelayLink link;
  private final LinkPort port;
  private final String linkPeer;
  private final Map<String, RemoteTrack> exported = new HashMap<>();
  private final Map<String, String> imported = new HashMap<>();
  private long dropped;

  /** A bridge between {@code router} and the node at the other end of {@code link}. */
  public CascadeBridge(Router router, RelayLink link) {
    this.router = Objects.requireNonNull(router, "router");
    this.link = Objects.requireNonNull(link, "link");
    this.port = link::send;
    this.linkPeer = "node:" + link.remoteNode();
  }

  /**
   * A bridge whose link runs elsewhere (a {@link RelayTransport}): packets for {@code remoteNode} go to {@code port},
   * what arrives from it is handed to {@link #deliver} on the router's thread.
   */
  public CascadeBridge(Router router, String remoteNode, LinkPort port) {
    this.router = Objects.requireNonNull(router, "router");
    this.link = null;
    this.port = Objects.requireNonNull(port, "port");
    this.linkPeer = "node:" + remoteNode;
  }

  /** The peer id under which the other node appears in this router. */
  public String linkPeer() {
    return linkPeer;
  }

  /**
   * Sends local producer {@code producerId} to the other node: a consumer of it for the link peer, with an SSRC of
   * this router's. Returns the track to announce to the other node (which {@link #importTrack}s it).
   */
  public RemoteTrack export(String producerId, long nowMillis) {
    RemoteTrack t = exported.get(producerId);
    if (t != null) {
      return t;
    }
    Producer p = router.findProducer(producerId);
    if (p == null) {
      throw new IllegalArgumentException("no producer " + producerId);
    }
    ProducerParams pp = p.params();
    long ssrc = router.newSsrc();
    router.createConsumer(linkPeer + "/" + producerId, linkPeer, producerId,
        new ConsumerParams(ssrc, pp.payloadType(), null, 0, null), nowMillis);
    t = new RemoteTrack(producerId, pp.kind(), pp.codec(), pp.payloadType(), pp.clockRate(), ssrc);
    exported.put(producerId, t);
    return t;
  }

  /** Stops sending {@code producerId} to the other node. */
  public void unexport(String producerId) {
    if (exported.remove(producerId) != null) {
      router.closeConsumer(linkPeer + "/" + producerId);
    }
  }

  /**
   * Makes a track of the other node a producer of this router, fed by the link; this node's subscribers consume it
   * as any producer. Its producer id is the track id itself (track ids are {@code <connection id>-<label>}, and
   * connection ids are unique in the cluster), so a subscriber is offered it under the id every node uses.
   */
  public Producer importTrack(RemoteTrack t) {
    String id = t.trackId();
    if (imported.containsKey(id) || router.findProducer(id) != null) {
      throw new IllegalArgumentException("track " + id + " exists already");
    }
    Producer p = router.createProducer(id, linkPeer,
        new ProducerParams(t.kind(), t.codec(), t.payloadType(), t.clockRate(), t.ssrc(), null));
    imported.put(t.trackId(), id);
    return p;
  }

  /** The ids of the tracks imported from the other node. */
  public java.util.Set<String> importedTracks() {
    return java.util.Set.copyOf(imported.keySet());
  }

  /** The ids of the local producers exported to the other node. */
  public java.util.Set<String> exportedTracks() {
    return java.util.Set.copyOf(exported.keySet());
  }

  /** Forgets every import and export (the link closed): the router's producers and consumers of the peer close. */
  public void closeAll() {
    for (String id : java.util.List.copyOf(imported.values())) {
      router.closeProducer(id);
    }
    imported.clear();
    exported.clear();
    router.closePeer(linkPeer);
  }

  /**
   * A forwarded RTP packet of an exported track for the link peer, in the router's reused buffer (valid only during
   * the call; the port copies it). Returns whether the port took it.
   */
  public boolean forward(byte[] buf, int off, int len, long nowMillis) {
    if (!port.send(false, buf, off, len, nowMillis)) {
      dropped++;
      return false;
    }
    return true;
  }

  /** The local producer id of an imported track, or null. */
  public String importedProducer(String trackId) {
    return imported.get(trackId);
  }

  /** Removes an imported track (the other node's publisher left); its consumers here close with it. */
  public void dropTrack(String trackId) {
    String id = imported.remove(trackId);
    if (id != null) {
      router.closeProducer(id);
    }
  }

  /**
   * Takes {@code out} if it is addressed to the link peer (relayed to the other node; true), else leaves it to the
   * caller (false).
   */
  public boolean offer(RouterOutput out, long nowMillis) {
    if (out instanceof RouterOutput.Rtp r && r.peerId().equals(linkPeer)) {
      if (!port.send(false, r.packet(), 0, r.packet().length, nowMillis)) {
        dropped++;
      }
      return true;
    }
    if (out instanceof RouterOutput.Rtcp c && c.peerId().equals(linkPeer)) {
      if (!port.send(true, c.packet(), 0, c.packet().length, nowMillis)) {
        dropped++;
      }
      return true;
    }
    return false;
  }

  /**
   * Feeds the media the link received into the router, as the link peer's (a bridge built on a {@link RelayLink}).
   * Other link events are returned.
   */
  public java.util.List<RelayEvent> pumpLink(long nowMillis) {
    if (link == null) {
      throw new IllegalStateException("this bridge's link runs elsewhere: call deliver");
    }
    java.util.List<RelayEvent> other = new java.util.ArrayList<>();
    for (RelayEvent e; (e = link.pollEvent()) != null; ) {
      if (e instanceof RelayEvent.Media m) {
        deliver(m.rtcp(), m.packet(), nowMillis);
      } else {
        other.add(e);
      }
    }
    return other;
  }

  /** One packet the link received from the other node, into the router as the link peer's (router thread). */
  public void deliver(boolean rtcp, byte[] packet, long nowMillis) {
    if (rtcp) {
      router.handleRtcp(linkPeer, packet, 0, packet.length, nowMillis);
    } else {
      router.handleRtp(linkPeer, packet, 0, packet.length, nowMillis);
    }
  }

  /** Packets for the other node the link refused (no session, a full queue). */
  public long dropped() {
    return dropped;
  }
}
