package dev.veil.server;

import dev.veil.signaling.Role;
import dev.veil.webrtc.ice.IceCredentials;
import dev.veil.webrtc.router.Consumer;
import dev.veil.webrtc.router.ConsumerParams;
import dev.veil.webrtc.router.Producer;
import dev.veil.webrtc.router.ProducerParams;
import dev.veil.webrtc.rtp.RtpCodec;
import dev.veil.webrtc.sdp.Codec;
import dev.veil.webrtc.sdp.Extmap;
import dev.veil.webrtc.sdp.MediaKind;
import dev.veil.webrtc.sdp.SdpAnswer;
import dev.veil.webrtc.sdp.SdpException;
import dev.veil.webrtc.sdp.SdpOfferer;
import dev.veil.webrtc.sdp.SendTrack;
import dev.veil.webrtc.transport.TransportOutput;
import dev.veil.webrtc.transport.TransportStats;
import dev.veil.webrtc.transport.WebRtcTransport;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The media of one connection, on its channel's media loop ({@link MediaLane}): its {@link WebRtcTransport} on the shared UDP port, its SDP
 * state ({@link SdpOfferer}), the producers it publishes and the consumers it subscribes to in the router.
 */
final class RtcPeer implements Media.Peer {
  private static final Logger LOG = LoggerFactory.getLogger(RtcPeer.class);
  /**
   * The start bitrate offered to publishers' video (x-google-start-bitrate): Chromium's default 300 kbit/s makes a
   * 720p camera start at 640x360 and stay there for over ten seconds; with transport-cc feedback and RTX probing
   * its estimate passes 1.5 Mbit/s within about a second of media, so starting at 1 Mbit/s is a small step.
   */
  static final int UPLINK_START_KBPS = Integer.getInteger("veil.uplinkStartKbps", 1000);
  /**
   * Bench knobs (JVM properties, for before/after measurements only): offer transport-cc and goog-remb, offer
   * transport-cc (false: goog-remb alone, the REMB fallback), offer RTX.
   */
  static final boolean UPLINK_CC = !"false".equals(System.getProperty("veil.uplinkCc"));
  static final boolean UPLINK_RTX = !"false".equals(System.getProperty("veil.uplinkRtx"));
  static final boolean UPLINK_TRANSPORT_CC = !"false".equals(System.getProperty("veil.uplinkTransportCc"));
  /** Offer subscribers RTX (RFC 4588) for forwarded video (JVM property {@code veil.downlinkRtx}, default on). */
  static final boolean DOWNLINK_RTX = !"false".equals(System.getProperty("veil.downlinkRtx"));
  /**
   * Offer subscribers downlink congestion control (the server's own transport-wide sequence numbers on what it
   * sends, transport-cc and goog-remb feedback on its SENDONLY m-lines) and estimate their downlinks (bench knob).
   */
  static final boolean DOWNLINK_CC = !"false".equals(System.getProperty("veil.downlinkCc"));
  /**
   * The simulcast layers offered to publishers' video, lowest resolution first (a=rid recv, a=simulcast:recv);
   * {@code -Dveil.simulcast=false} offers none. A publisher that answers a=simulcast:send gets one producer with
   * these layers, the others (no simulcast in the answer) a plain one.
   */
  static final List<String> SIMULCAST_RIDS = "false".equals(System.getProperty("veil.simulcast"))
      ? List.of() : List.of("q", "h", "f");

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

  /** The media loop this connection lives on (with its channel). */
  final MediaLane media;
  /** The channel's router. */
  final ChannelRouters.Channel channel;
  final String connectionId;
  final Role role;
  private final WebRtcTransport transport;
  private final SdpOfferer sdp;
  private final String audioUpMid;
  private final String videoUpMid;
  private final String screenUpMid;
  private final Runnable onFailed;
  /** Forwarded track id → its m-line. */
  private final Map<String, Sending> sending = new LinkedHashMap<>();
  List<Media.Track> published = List.of();
  private boolean answered;
  /** The client's ICE credentials from its last answer. */
  private String remoteUfrag;
  private String remotePwd;
  /** An ICE restart is in the offer the client has not answered yet. */
  private boolean iceRestartPending;
  private int iceRestarts;
  private boolean closed;
  private boolean connectedLogged;
  /** Loop time the transport was opened (the connect admitted), for {@code veil_join_seconds}. */
  private final long openedNanos;
  /** The join time has been recorded (the first media flowed). */
  private boolean joinTimed;
  private EventLoop.Timer timer;
  /** Uplink congestion control (transport-cc feedback or REMB), once the answer accepted it; else null. */
  private UplinkCc uplink;
  private EventLoop.Timer ccTimer;
  /** The publisher's RTX streams, unwrapped before routing. */
  private final UplinkRtx rtx = new UplinkRtx();
  /** The largest picture height this peer wants to receive (simulcast layer choice), 0 for no limit. */
  private int receiveMaxHeight;
  private long ccTimerAt = Long.MAX_VALUE;
  /** Downlink congestion control (stamping + estimate), once an answer accepted it on a sending m-line; else null. */
  private DownlinkCc downlink;
  /** The downlink estimate's layer choice (set with downlink). */
  private DownlinkLayers layers;
  private EventLoop.Timer dlTimer;
  private long dlTimerAt = Long.MAX_VALUE;
  private long timerAt = Long.MAX_VALUE;
  private boolean wakeupPosted;
  private final Object wakeupLock = new Object();

  RtcPeer(MediaLane media, ChannelRouters.Channel channel, String connectionId, Role role, boolean audio,
      boolean video, boolean screen, Runnable onFailed) {
    this.media = media;
    this.channel = channel;
    this.connectionId = connectionId;
    this.role = role;
    this.onFailed = onFailed;
    this.openedNanos = media.loop().nowNanos();
    this.transport = new WebRtcTransport(media.certificate(), media.dtlsConfig(), media.dtlsPool(), this::wakeup,
        media.random());
    transport.setMappedAddressResolver(media::mappedAddress); // ICE-TCP paths (IceTcp)
    this.sdp = new SdpOfferer(media.random().nextLong() >>> 2, transport.localIceCredentials().ufrag(),
        transport.localIceCredentials().password(), transport.localFingerprint(), media.announcedAddress(),
        media.localPort()).uplinkStartBitrateKbps(UPLINK_START_KBPS)
        .uplinkCongestionControl(UPLINK_CC).uplinkTransportCc(UPLINK_TRANSPORT_CC).uplinkRtx(UPLINK_RTX)
        .downlinkCongestionControl(DOWNLINK_CC)
        .uplinkSimulcast(SIMULCAST_RIDS)
        .iceTcpPort(media.tcpPort());
    this.audioUpMid = role.sends() && audio ? sdp.addRecvOnly(MediaKind.AUDIO) : null;
    this.videoUpMid = role.sends() && video ? sdp.addRecvOnly(MediaKind.VIDEO) : null;
    // screen share: a second video uplink, filled and emptied by the client with replaceTrack (no renegotiation);
    // one layer (no simulcast offered): the SDK puts a plain track on it
    this.screenUpMid = role.sends() && screen ? sdp.uplinkSimulcast(List.of()).addRecvOnly(MediaKind.VIDEO) : null;
  }

  /** True once the transport is closed (on the lane's loop). */
  boolean isClosed() {
    return closed;
  }

  String localUfrag() {
    return transport.localIceCredentials().ufrag();
  }

  // ------------------------------------------------------------------------------------------------------ SDP

  @Override
  public String offer(List<Media.Track> receive) {
    Set<String> wanted = new HashSet<>();
    for (Media.Track t : receive) {
      wanted.add(t.id());
      if (!sending.containsKey(t.id())) {
        Producer p = channel.router.findProducer(t.id());
        if (p == null) {
          continue;
        }
        long ssrc = channel.router.newSsrc();
        long rtxSsrc = DOWNLINK_RTX && p.kind() == MediaKind.VIDEO ? channel.router.newSsrc() : 0;
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
    if (sdp.mediaSections().isEmpty()) {
      sdp.addInactive(MediaKind.VIDEO);
    }
    return sdp.createOffer();
  }

  @Override
  public List<Media.Track> answer(String text) throws Media.MediaException {
    try {
      return applyAnswer(text);
    } catch (IllegalArgumentException | IllegalStateException e) {
      // e.g. a hostile answer whose SSRCs collide: refuse it like any other unusable answer
      throw new Media.MediaException(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
    }
  }

  private List<Media.Track> applyAnswer(String text) throws Media.MediaException {
    if (closed) {
      throw new Media.MediaException("connection closed");
    }
    SdpAnswer a;
    try {
      a = sdp.applyAnswer(text);
    } catch (SdpException e) {
      throw new Media.MediaException(e.getMessage());
    }
    if (a.iceUfrag() == null || a.icePwd() == null || a.fingerprint() == null) {
      throw new Media.MediaException("the answer has no ICE credentials or DTLS fingerprint");
    }
    if (answered && !iceRestartPending && (!a.iceUfrag().equals(remoteUfrag) || !a.icePwd().equals(remotePwd))) {
      // JSEP: the answerer changes its ICE credentials only in answer to an offer that restarts ICE
      throw new Media.MediaException("the answer changes its ICE credentials without an ICE restart");
    }
    // The DTLS role (our offer says actpass): active → we are the DTLS server, passive → we are the DTLS client
    // (Pion's default answer to an ICE-lite offer). Anything else, or a re-answer that changes it, is refused, which
    // closes this connection only.
    if (a.setup() != null) {
      transport.setRemoteSetup(a.setup(), media.nowMillis());
    }
    if (!answered && transport.isDtlsClient()) {
      media.stats().inc("media.dtls_client_role");
      LOG.info("{} answered a=setup:passive: acting as DTLS client", connectionId);
    }
    if (iceRestartPending) {
      iceRestartPending = false;
      remoteUfrag = a.iceUfrag();
      remotePwd = a.icePwd();
      transport.setRemoteIceCredentials(remoteUfrag, remotePwd);
      LOG.info("{} ICE restart {} answered", connectionId, iceRestarts);
    }
    if (!answered) {
      answered = true;
      remoteUfrag = a.iceUfrag();
      remotePwd = a.icePwd();
      transport.setRemoteIceCredentials(a.iceUfrag(), a.icePwd());
      transport.setRemoteFingerprint(a.fingerprint());
      List<Media.Track> tracks = new ArrayList<>();
      List<Long> ssrcs = new ArrayList<>();
      publish(a, audioUpMid, "audio", tracks, ssrcs);
      publish(a, videoUpMid, "video", tracks, ssrcs);
      publish(a, screenUpMid, "screen", tracks, ssrcs);
      published = List.copyOf(tracks);
      if (!tracks.isEmpty()) {
        // (a simulcast upload names no SSRC in the answer: REMB then lists only the others; transport-cc needs none)
        uplink = UplinkCc.negotiate(a, java.util.Arrays.asList(audioUpMid, videoUpMid, screenUpMid), ssrcs,
            channel.router.rtcpSsrc());
        LOG.info("{} uplink congestion control: {}", connectionId, uplink == null ? "none" : uplink.mode());
      }
      drain();
    }
    for (Map.Entry<String, Sending> e : sending.entrySet()) {
      if (e.getValue().consumerId == null && e.getValue().pending == null) {
        consume(a, e.getKey(), e.getValue());
      }
    }
    if (downlink == null && DOWNLINK_CC && !sending.isEmpty()) {
      downlink = DownlinkCc.negotiate(a, sending.values().stream().map(x -> x.mid).toList(),
          media.random().nextInt(0x10000));
      if (downlink != null) {
        layers = new DownlinkLayers(downlink.probes(), connectionId);
        LOG.info("{} downlink congestion control: {}{}", connectionId, downlink.mode(),
            downlink.probes().probing() ? " with padding probes" : "");
      }
    }
    media.routers.drain(channel);
    return published;
  }

  private void publish(SdpAnswer a, String mid, String label, List<Media.Track> out, List<Long> ssrcs) {
    if (mid == null) {
      return;
    }
    Optional<SdpAnswer.Media> m = a.media(mid);
    if (m.isEmpty() || m.get().rejected() || !m.get().direction().sends() || m.get().payloadTypes().isEmpty()) {
      return;
    }
    if (publishSimulcast(m.get(), mid, label, out)) {
      return;
    }
    Optional<Long> ssrc = m.get().primarySsrc();
    if (ssrc.isEmpty()) {
      LOG.info("{} sends on mid {} without a=ssrc; not forwarded", connectionId, mid);
      return;
    }
    int pt = m.get().payloadTypes().get(0);
    Optional<Codec> codec = m.get().codec(pt);
    if (codec.isEmpty()) {
      return;
    }
    String trackId = connectionId + "-" + label;
    channel.router.createProducer(trackId, connectionId, new ProducerParams(m.get().kind(),
        RtpCodec.fromName(codec.get().name()), pt, codec.get().clockRate(), ssrc.get(), mid));
    out.add(new Media.Track(connectionId, trackId, label));
    ssrcs.add(ssrc.get());
    Optional<Long> rtxSsrc = m.get().rtxSsrcFor(ssrc.get());
    boolean rtxAccepted = m.get().payloadTypes().stream().map(t -> m.get().codec(t).orElse(null))
        .anyMatch(c -> c != null && "rtx".equalsIgnoreCase(c.name()) && c.fmtp().equals("apt=" + pt));
    if (rtxSsrc.isPresent() && rtxAccepted) {
      rtx.add(rtxSsrc.get(), ssrc.get(), pt);
    }
  }

  /**
   * A video upload whose answer accepted simulcast (a=simulcast:send with offered rids and the RtpStreamId
   * extension): one producer whose layers the router learns from the RIDs of their first packets; their RTX
   * streams are told by the RepairedRtpStreamId extension. Returns false for any other upload.
   */
  private boolean publishSimulcast(SdpAnswer.Media m, String mid, String label, List<Media.Track> out) {
    Optional<Integer> ridExt = m.extmapId(Extmap.RTP_STREAM_ID);
    List<String> layers = SIMULCAST_RIDS.stream().filter(m.simulcastRids()::contains).toList();
    if (m.kind() != MediaKind.VIDEO || layers.isEmpty() || ridExt.isEmpty()) {
      return false;
    }
    int pt = m.payloadTypes().get(0);
    Optional<Codec> codec = m.codec(pt);
    if (codec.isEmpty()) {
      return false;
    }
    String trackId = connectionId + "-" + label;
    channel.router.createSimulcastProducer(trackId, connectionId, new ProducerParams(m.kind(),
        RtpCodec.fromName(codec.get().name()), pt, codec.get().clockRate(), 0, mid), layers, ridExt.get());
    out.add(new Media.Track(connectionId, trackId, label));
    Optional<Integer> rridExt = m.extmapId(Extmap.REPAIRED_RTP_STREAM_ID);
    Optional<Integer> rtxPt = m.payloadTypes().stream().filter(t -> m.codec(t)
        .map(c -> "rtx".equalsIgnoreCase(c.name()) && c.fmtp().equals("apt=" + pt)).orElse(false)).findFirst();
    if (rridExt.isPresent() && rtxPt.isPresent()) {
      rtx.simulcast(ridExt.get(), rridExt.get(), rtxPt.get(), pt);
    }
    LOG.info("{} publishes {} with simulcast layers {}", connectionId, label, layers);
    return true;
  }

  @Override
  public void setReceiveMaxHeight(int maxHeight, String trackId) {
    if (closed) {
      return;
    }
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
      LOG.info("{} cannot receive {}: payload type {} not in its answer", connectionId, trackId, p.payloadType());
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
    if (transport.isConnected()) {
      startConsumer(s);
    }
    // else: nothing can reach the subscriber before DTLS-SRTP is up; the consumer starts (and asks the publisher
    // for a key frame) on Connected, so the first frame the subscriber gets is a decodable one.
  }

  private void startConsumer(Sending s) {
    if (s.pending == null || channel.router.findProducer(s.trackId) == null) {
      return;
    }
    String consumerId = connectionId + "/" + s.trackId;
    channel.router.createConsumer(consumerId, connectionId, s.trackId, s.pending, media.nowMillis()).attach(this);
    s.consumerId = consumerId;
    if (receiveMaxHeight > 0 || s.maxHeight > 0) {
      applyMaxHeight(s);
    }
    s.pending = null;
    if (downlink != null) {
      chooseLayers(media.nowMillis()); // the first layer: one the estimate (still the initial guess) affords
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

  @Override
  public void restartIce() {
    if (closed) {
      return;
    }
    String previous = localUfrag();
    IceCredentials c = transport.restartIce();
    sdp.setIceCredentials(c.ufrag(), c.password());
    media.ufragChanged(this, c.ufrag(), previous);
    iceRestartPending = true;
    iceRestarts++;
    media.stats().inc("media.ice_restarts");
    LOG.info("{} ICE restart {}: new local credentials", connectionId, iceRestarts);
  }

  // ------------------------------------------------------------------------------------------------ transport

  void handleDatagram(byte[] data, InetSocketAddress from) {
    transport.handleDatagram(data, from, media.nowMillis());
    drain();
  }

  void sendRtp(byte[] plain) {
    if (downlink != null && transport.isConnected()) {
      plain = downlink.onSend(plain, TimeUnit.NANOSECONDS.toMicros(media.loop().nowNanos()));
      runDownlink(media.nowMillis());
    }
    if (transport.sendRtp(plain)) {
      if (!joinTimed) {
        mediaFlowing();
      }
      drain();
    }
  }

  /** Room a forwarded packet may grow into for the transport-wide sequence element (the SRTP tag, ≤ 16, after it). */
  private static final int STAMP_ROOM = dev.veil.webrtc.router.Router.FORWARD_TAIL_ROOM - 16;

  /**
   * A forwarded packet in the router's reused buffer: stamped (downlink congestion control: the transport-wide
   * sequence number, its element added in place if the header lacks it), protected in place and sent from there
   * (one copy, into the socket's pooled direct buffer). Same bytes and counts as {@link #sendRtp} on a copy.
   */
  void forwardRtp(byte[] buf, int off, int len) {
    if (closed) {
      return;
    }
    InetSocketAddress to = transport.mediaDestination();
    int plain = len;
    if (downlink != null && to != null) {
      long nanos = media.loop().nowNanos();
      plain = downlink.onSendInPlace(buf, off, len, len + STAMP_ROOM, TimeUnit.NANOSECONDS.toMicros(nanos));
      runDownlink(TimeUnit.NANOSECONDS.toMillis(nanos));
    }
    int n = transport.protectRtpInPlace(buf, off, plain);
    if (n >= 0 && to != null) {
      media.send(buf, off, n, to);
      if (!joinTimed) {
        mediaFlowing();
      }
    }
  }

  void sendRtcp(byte[] plain) {
    if (transport.sendRtcp(plain)) {
      drain();
    }
  }

  /** Called by a DTLS worker thread: collect its output on the loop. */
  private void wakeup() {
    synchronized (wakeupLock) {
      if (wakeupPosted) {
        return;
      }
      wakeupPosted = true;
    }
    media.loop().execute(() -> {
      synchronized (wakeupLock) {
        wakeupPosted = false;
      }
      if (!closed) {
        transport.poll(media.nowMillis());
        drain();
      }
    });
  }

  /** Handles everything the transport has queued, then re-arms its timer. */
  private void drain() {
    TransportOutput o;
    while ((o = transport.pollOutput()) != null) {
      if (o instanceof TransportOutput.Transmit t) {
        media.send(t.data(), t.destination());
      } else if (o instanceof TransportOutput.Timeout t) {
        arm(t.atMillis());
        break;
      } else if (o instanceof TransportOutput.RtpReceived r) {
        byte[] packet = r.packet();
        if (!joinTimed) {
          mediaFlowing();
        }
        if (uplink != null) {
          long now = media.nowMillis();
          uplink.onRtp(packet, TimeUnit.NANOSECONDS.toMicros(media.loop().nowNanos()), now);
          runUplink(now);
        }
        packet = rtx.onRtp(packet);
        if (packet == null) {
          continue;
        }
        media.routers.routeRtp(channel, connectionId, packet);
      } else if (o instanceof TransportOutput.RtcpReceived r) {
        if (downlink != null) {
          long now = media.nowMillis();
          downlink.onRtcp(r.packet(), now);
          chooseLayers(now);
          runDownlink(now);
        }
        media.routers.routeRtcp(channel, connectionId, r.packet());
      } else if (o instanceof TransportOutput.AddressValidated v) {
        media.addressValidated(this, v.address());
      } else if (o instanceof TransportOutput.RemoteAddressChanged c) {
        media.addressValidated(this, c.current());
        LOG.info("{} media moved to a new address", connectionId);
      } else if (o instanceof TransportOutput.Connected c) {
        media.stats().inc("media.transports_connected");
        if (!connectedLogged) {
          connectedLogged = true;
          LOG.info("{} media connected ({})", connectionId, c.profile());
        }
        for (Sending sn : sending.values()) {
          startConsumer(sn);
        }
        media.routers.drain(channel);
      } else if (o instanceof TransportOutput.Failed f) {
        media.stats().inc("media.transports_failed");
        LOG.info("{} media failed: {}", connectionId, f.reason());
        if (!closed) {
          onFailed.run();
        }
      } else if (o instanceof TransportOutput.Closed c) {
        if (!closed) {
          LOG.info("{} media closed by the peer: {}", connectionId, c.reason());
          onFailed.run();
        }
      }
    }
  }

  /** The first media in either direction: the join is done ({@code veil_join_seconds}). */
  private void mediaFlowing() {
    media.stats().metrics.join.record(media.loop().nowNanos() - openedNanos, TimeUnit.NANOSECONDS);
    joinTimed = true;
  }

  /** Sends the feedback that is due and re-arms the uplink timer. */
  private void runUplink(long now) {
    if (closed || uplink == null) {
      return;
    }
    if (uplink.nextTimeoutMillis() <= now) {
      uplink.poll(now);
      byte[] rtcp;
      while ((rtcp = uplink.pollRtcp()) != null) {
        sendRtcp(rtcp);
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
  private void chooseLayers(long now) {
    if (closed || downlink == null || sending.isEmpty()) {
      return;
    }
    List<String> ids = new ArrayList<>(sending.size());
    List<Integer> heights = new ArrayList<>(sending.size());
    for (Sending s : sending.values()) {
      if (s.consumerId != null) {
        ids.add(s.consumerId);
        heights.add(s.maxHeight >= 0 ? s.maxHeight : receiveMaxHeight);
      }
    }
    layers.apply(channel.router, downlink.estimateBps(), downlink.lastCongestionMillis(), downlink.lastRembMillis(),
        ids, heights, now);
    media.routers.drain(channel);
  }

  /** Runs the downlink estimator's feedback timeout if due and re-arms its timer. */
  private void runDownlink(long now) {
    if (closed || downlink == null) {
      return;
    }
    if (downlink.nextTimeoutMillis() <= now && downlink.poll(now)) {
      chooseLayers(now);
    }
    // padding probes (a cluster started by chooseLayers, or its packets now due): on the transport, not the router
    if (downlink.probesDue()) {
      downlink.sendProbes(channel.router, sending.values().stream().map(x -> x.consumerId)
          .filter(java.util.Objects::nonNull).toList(), TimeUnit.NANOSECONDS.toMicros(media.loop().nowNanos()), p -> {
            if (transport.sendRtp(p)) {
              drain();
            }
          });
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

  private void arm(long atMillis) {
    if (closed || atMillis == timerAt && timer != null) {
      return;
    }
    if (timer != null) {
      timer.cancel();
      timer = null;
    }
    timerAt = atMillis;
    if (atMillis == Long.MAX_VALUE) {
      return;
    }
    long delay = Math.max(0, atMillis - media.nowMillis());
    timer = media.loop().schedule(TimeUnit.MILLISECONDS.toNanos(delay), () -> {
      timer = null;
      timerAt = Long.MAX_VALUE;
      if (!closed) {
        transport.poll(media.nowMillis());
        drain();
      }
    });
  }

  @Override
  public dev.veil.signaling.DownlinkStats downlinkStats() {
    if (closed) {
      return null;
    }
    List<dev.veil.signaling.DownlinkStats.Track> tracks = new ArrayList<>();
    for (Sending s : sending.values()) {
      Consumer c = s.consumerId == null ? null : channel.router.findConsumer(s.consumerId);
      if (c != null && !c.closed() && c.producer() != null && c.producer().kind() == MediaKind.VIDEO
          && tracks.size() < dev.veil.signaling.DownlinkStats.MAX_TRACKS) {
        tracks.add(new dev.veil.signaling.DownlinkStats.Track(s.trackId, c.layer(), c.layerSwitches(),
            c.retransmissionsSent(), c.nacksReceived(), c.keyFrameRequests()));
      }
    }
    return new dev.veil.signaling.DownlinkStats(downlink == null ? 0 : downlink.measuredEstimateBps(), tracks);
  }

  /** Adds this transport's counters to {@code out} (live peers; closed ones are folded into Stats). */
  void addLiveCounters(Map<String, Long> out) {
    TransportStats st = transport.stats();
    for (var e : st.dropped().entrySet()) {
      out.merge("media.dropped." + e.getKey().name().toLowerCase(), e.getValue(), Long::sum);
    }
    for (var e : st.received().entrySet()) {
      out.merge("media.received." + e.getKey().name().toLowerCase(), e.getValue(), Long::sum);
    }
    for (var e : st.srtpRejected().entrySet()) {
      out.merge("media.srtp_rejected." + e.getKey().name().toLowerCase(), e.getValue(), Long::sum);
    }
    for (var e : st.srtcpRejected().entrySet()) {
      out.merge("media.srtcp_rejected." + e.getKey().name().toLowerCase(), e.getValue(), Long::sum);
    }
    out.merge("media.stun_error_responses", st.stunErrorResponses(), Long::sum);
    out.merge("media.rtp_sent", st.rtpSent(), Long::sum);
    out.merge("media.rtcp_sent", st.rtcpSent(), Long::sum);
    out.merge("media.send_dropped", st.sendDropped(), Long::sum);
    rtx.addCounters(out);
    if (uplink != null) {
      uplink.addCounters(out);
    }
    if (downlink != null) {
      downlink.addCounters(out);
      layers.addCounters(out);
    }
  }

  /** Adds this transport's gauges to {@code out} (live peers only; never folded into the totals). */
  void addLiveGauges(Map<String, Long> out) {
    if (downlink != null) {
      downlink.addGauges(out);
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closeTransport();
    media.removed(this);
  }

  void closeTransport() {
    if (closed) {
      return;
    }
    closed = true;
    if (timer != null) {
      timer.cancel();
    }
    if (ccTimer != null) {
      ccTimer.cancel();
      ccTimer = null;
    }
    if (dlTimer != null) {
      dlTimer.cancel();
      dlTimer = null;
    }
    TransportStats st = transport.stats();
    LOG.info("{} media closed: received {} dropped {} srtp-rejected {} stun-errors {} rtp-sent {} rtcp-sent {}",
        connectionId, st.received(), st.dropped(), st.srtpRejected(), st.stunErrorResponses(), st.rtpSent(),
        st.rtcpSent());
    Map<String, Long> finalCounters = new java.util.TreeMap<>();
    addLiveCounters(finalCounters);
    media.foldClosedCounters(finalCounters);
    transport.close();
    TransportOutput o;
    while ((o = transport.pollOutput()) != null) {
      if (o instanceof TransportOutput.Transmit t) {
        media.send(t.data(), t.destination()); // close_notify
      } else if (o instanceof TransportOutput.Timeout) {
        break;
      }
    }
  }
}
