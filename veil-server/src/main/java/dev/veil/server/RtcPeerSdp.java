package dev.veil.server;

import dev.veil.webrtc.ice.IceCredentials;
import dev.veil.webrtc.router.ProducerParams;
import dev.veil.webrtc.rtp.RtpCodec;
import dev.veil.webrtc.sdp.Codec;
import dev.veil.webrtc.sdp.Extmap;
import dev.veil.webrtc.sdp.MediaKind;
import dev.veil.webrtc.sdp.SdpAnswer;
import dev.veil.webrtc.sdp.SdpException;
import dev.veil.webrtc.sdp.SdpOfferer;
import dev.veil.webrtc.transport.WebRtcTransport;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The offer/answer side of one {@link RtcPeer}: its {@link SdpOfferer} (what the server offers, with the bench knobs
 * below), the checks on the client's answers (ICE credentials change only in answer to an ICE restart, DTLS role),
 * and the producers its upload m-lines create in the router. Runs on the peer's media loop.
 */
final class RtcPeerSdp {
  /** Logs as the peer (operators filter on that logger). */
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

  private final RtcPeer peer;
  private final MediaLane media;
  private final WebRtcTransport transport;
  private final SdpOfferer sdp;
  private final String audioUpMid;
  private final String videoUpMid;
  private final String screenUpMid;
  List<Media.Track> published = List.of();
  private boolean answered;
  /** The client's ICE credentials from its last answer. */
  private String remoteUfrag;
  private String remotePwd;
  /** An ICE restart is in the offer the client has not answered yet. */
  private boolean iceRestartPending;
  private int iceRestarts;

  RtcPeerSdp(RtcPeer peer, WebRtcTransport transport, boolean audio, boolean video, boolean screen) {
    this.peer = peer;
    this.media = peer.media;
    this.transport = transport;
    this.sdp = new SdpOfferer(media.random().nextLong() >>> 2, transport.localIceCredentials().ufrag(),
        transport.localIceCredentials().password(), transport.localFingerprint(), media.announcedAddress(),
        media.localPort()).uplinkStartBitrateKbps(UPLINK_START_KBPS)
        .uplinkCongestionControl(UPLINK_CC).uplinkTransportCc(UPLINK_TRANSPORT_CC).uplinkRtx(UPLINK_RTX)
        .downlinkCongestionControl(DOWNLINK_CC)
        .uplinkSimulcast(SIMULCAST_RIDS)
        .iceTcpPort(media.tcpPort());
    boolean sends = peer.role.sends();
    this.audioUpMid = sends && audio ? sdp.addRecvOnly(MediaKind.AUDIO) : null;
    this.videoUpMid = sends && video ? sdp.addRecvOnly(MediaKind.VIDEO) : null;
    // screen share: a second video uplink, filled and emptied by the client with replaceTrack (no renegotiation);
    // one layer (no simulcast offered): the SDK puts a plain track on it
    this.screenUpMid = sends && screen ? sdp.uplinkSimulcast(List.of()).addRecvOnly(MediaKind.VIDEO) : null;
  }

  String offer(List<Media.Track> receive) {
    peer.tracks.offer(receive, sdp);
    if (sdp.mediaSections().isEmpty()) {
      sdp.addInactive(MediaKind.VIDEO);
    }
    return sdp.createOffer();
  }

  List<Media.Track> answer(String text) throws Media.MediaException {
    try {
      return applyAnswer(text);
    } catch (IllegalArgumentException | IllegalStateException e) {
      // e.g. a hostile answer whose SSRCs collide: refuse it like any other unusable answer
      throw new Media.MediaException(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
    }
  }

  private List<Media.Track> applyAnswer(String text) throws Media.MediaException {
    if (peer.isClosed()) {
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
      LOG.info("{} answered a=setup:passive: acting as DTLS client", peer.connectionId);
    }
    if (iceRestartPending) {
      iceRestartPending = false;
      remoteUfrag = a.iceUfrag();
      remotePwd = a.icePwd();
      transport.setRemoteIceCredentials(remoteUfrag, remotePwd);
      LOG.info("{} ICE restart {} answered", peer.connectionId, iceRestarts);
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
        peer.cc.negotiateUplink(a, java.util.Arrays.asList(audioUpMid, videoUpMid, screenUpMid), ssrcs);
      }
      peer.drain();
    }
    peer.tracks.consumeAnswered(a);
    peer.cc.negotiateDownlink(a);
    media.routers.drain(peer.channel);
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
    String connectionId = peer.connectionId;
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
    peer.channel.router.createProducer(trackId, connectionId, new ProducerParams(m.get().kind(),
        RtpCodec.fromName(codec.get().name()), pt, codec.get().clockRate(), ssrc.get(), mid));
    out.add(new Media.Track(connectionId, trackId, label));
    ssrcs.add(ssrc.get());
    Optional<Long> rtxSsrc = m.get().rtxSsrcFor(ssrc.get());
    boolean rtxAccepted = m.get().payloadTypes().stream().map(t -> m.get().codec(t).orElse(null))
        .anyMatch(c -> c != null && "rtx".equalsIgnoreCase(c.name()) && c.fmtp().equals("apt=" + pt));
    if (rtxSsrc.isPresent() && rtxAccepted) {
      peer.rtx.add(rtxSsrc.get(), ssrc.get(), pt);
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
    String connectionId = peer.connectionId;
    String trackId = connectionId + "-" + label;
    peer.channel.router.createSimulcastProducer(trackId, connectionId, new ProducerParams(m.kind(),
        RtpCodec.fromName(codec.get().name()), pt, codec.get().clockRate(), 0, mid), layers, ridExt.get());
    out.add(new Media.Track(connectionId, trackId, label));
    Optional<Integer> rridExt = m.extmapId(Extmap.REPAIRED_RTP_STREAM_ID);
    Optional<Integer> rtxPt = m.payloadTypes().stream().filter(t -> m.codec(t)
        .map(c -> "rtx".equalsIgnoreCase(c.name()) && c.fmtp().equals("apt=" + pt)).orElse(false)).findFirst();
    if (rridExt.isPresent() && rtxPt.isPresent()) {
      peer.rtx.simulcast(ridExt.get(), rridExt.get(), rtxPt.get(), pt);
    }
    LOG.info("{} publishes {} with simulcast layers {}", connectionId, label, layers);
    return true;
  }

  /** New local ICE credentials for the next offer; the answer to it brings the client's new ones. */
  void restartIce() {
    String previous = peer.localUfrag();
    IceCredentials c = transport.restartIce();
    sdp.setIceCredentials(c.ufrag(), c.password());
    media.ufragChanged(peer, c.ufrag(), previous);
    iceRestartPending = true;
    iceRestarts++;
    media.stats().inc("media.ice_restarts");
    LOG.info("{} ICE restart {}: new local credentials", peer.connectionId, iceRestarts);
  }
}
