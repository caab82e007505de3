package dev.veil.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.veil.webrtc.dtls.DtlsCertificate;
import dev.veil.webrtc.dtls.DtlsClientEngine;
import dev.veil.webrtc.dtls.DtlsConfig;
import dev.veil.webrtc.dtls.DtlsEngine;
import dev.veil.webrtc.dtls.DtlsServerEngine;
import dev.veil.webrtc.dtls.DtlsEvent;
import dev.veil.webrtc.ice.IceCredentials;
import dev.veil.webrtc.mux.Demux;
import dev.veil.webrtc.mux.PacketKind;
import dev.veil.webrtc.sdp.DtlsFingerprint;
import dev.veil.webrtc.srtp.SrtpSession;
import dev.veil.webrtc.stun.StunAttribute;
import dev.veil.webrtc.stun.StunClass;
import dev.veil.webrtc.stun.StunMessage;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.websocket.client.WebSocketClient;

/**
 * A WebRTC client made of Veil's own engines (STUN codec, DTLS client, SRTP) on a real UDP socket, for tests that
 * need media through a real server without a browser: signaling, ICE check with USE-CANDIDATE, DTLS handshake,
 * then SRTP both ways.
 */
final class MediaTestPeer implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long DEADLINE_MS = 15_000;

  final WsTestClient ws;
  final String connectionId;
  final String offerSdp;
  final String answerSdp;
  private DatagramSocket socket;
  private final InetSocketAddress server;
  private IceCredentials ice;
  private final long seed;
  private final boolean publish;
  private final DtlsCertificate certificate;
  /** The DTLS client (a=setup:active, as browsers answer), or the DTLS server if the answer says passive. */
  private final DtlsEngine dtls;
  /** When the ICE check went out and when DTLS completed (System.nanoTime), for tests that report timings. */
  long checkSentNanos;
  long dtlsDoneNanos;
  private final boolean helloFirst;
  private byte[] earlyHello;
  private final Random random;
  private SrtpSession srtp;
  private String serverUfrag;
  private String serverPwd;

  /** Joins {@code channel} as {@code role} and connects ICE and DTLS. */
  MediaTestPeer(WebSocketClient client, VeilServer s, String channel, String role, ExecutorService pool, long seed)
      throws Exception {
    this(client, s, channel, role, pool, seed, false);
  }

  /**
   * Joins {@code channel} as {@code role} and connects ICE, then either completes DTLS or, if {@code stallDtls},
   * sends its ClientHello once and never answers again (a stalled handshake, as a hostile client makes one).
   */
  MediaTestPeer(WebSocketClient client, VeilServer s, String channel, String role, ExecutorService pool, long seed,
      boolean stallDtls) throws Exception {
    this(client, s, channel, role, pool, seed, stallDtls, a -> a);
  }

  /** As above, with {@code editAnswer} applied to the fake browser answer before it is sent. */
  MediaTestPeer(WebSocketClient client, VeilServer s, String channel, String role, ExecutorService pool, long seed,
      boolean stallDtls, java.util.function.UnaryOperator<String> editAnswer) throws Exception {
    this(client, s, channel, role, pool, seed, stallDtls, editAnswer, false, false);
  }

  /**
   * As above; {@code passiveDtls}: the answer says {@code a=setup:passive} (as Pion's does) and this peer is the DTLS
   * server, waiting for the SFU's ClientHello after its ICE check. {@code helloFirst} (active only): the ClientHello
   * is sent just before the binding request instead of just after it (the two reordered on the way).
   */
  MediaTestPeer(WebSocketClient client, VeilServer s, String channel, String role, ExecutorService pool, long seed,
      boolean stallDtls, java.util.function.UnaryOperator<String> editAnswer, boolean passiveDtls, boolean helloFirst)
      throws Exception {
    this(client, s, channel, role, pool, seed, stallDtls, editAnswer, passiveDtls, helloFirst, false);
  }

  /**
   * As above; {@code overTcp}: everything (ICE check, DTLS, SRTP) goes over one TCP connection to the server's
   * ICE-TCP port in RFC 4571 frames, as a browser with UDP blocked does with the passive TCP candidate.
   */
  MediaTestPeer(WebSocketClient client, VeilServer s, String channel, String role, ExecutorService pool, long seed,
      boolean stallDtls, java.util.function.UnaryOperator<String> editAnswer, boolean passiveDtls, boolean helloFirst,
      boolean overTcp) throws Exception {
    this.helloFirst = helloFirst;
    this.random = new Random(seed);
    this.seed = seed;
    this.publish = !role.equals("recvonly");
    this.ice = IceCredentials.random(random);
    this.certificate = DtlsCertificate.generate(new SecureRandom(), System.currentTimeMillis());
    this.dtls = passiveDtls
        ? new DtlsServerEngine(certificate, DtlsConfig.defaults(), pool, () -> { }, new SecureRandom())
        : new DtlsClientEngine(certificate, DtlsConfig.defaults(), pool, () -> { }, new SecureRandom());
    if (overTcp) {
      this.tcp = new java.net.Socket(InetAddress.getLoopbackAddress(), s.rtcTcpPort());
      this.tcp.setSoTimeout(20);
      this.tcp.setTcpNoDelay(true);
    } else {
      this.socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      this.socket.setSoTimeout(20);
    }
    this.server = new InetSocketAddress(InetAddress.getLoopbackAddress(), s.rtcPort());
    this.ws = WsTestClient.connect(client, s.httpPort());
    ws.send("{\"type\":\"connect\",\"role\":\"" + role + "\",\"channel_id\":\"" + channel + "\"}");
    JsonNode offer = ws.expect("offer");
    this.connectionId = offer.get("connection_id").asText();
    this.offerSdp = offer.get("sdp").asText();
    String fingerprint = null;
    for (String l : offerSdp.split("\r\n")) {
      if (l.startsWith("a=ice-ufrag:")) {
        serverUfrag = l.substring(12);
      } else if (l.startsWith("a=ice-pwd:")) {
        serverPwd = l.substring(10);
      } else if (l.startsWith("a=fingerprint:")) {
        fingerprint = l.substring(14);
      }
    }
    dtls.setRemoteFingerprint(DtlsFingerprint.parse(fingerprint));
    this.answerSdp = editAnswer.apply(new FakeBrowserSdp(seed, ice.ufrag(), ice.password(),
        certificate.fingerprint().toSdpValue()).answer(offerSdp, !role.equals("recvonly"))
        .replace("a=setup:active", passiveDtls ? "a=setup:passive" : "a=setup:active"));
    ws.send("{\"type\":\"answer\",\"sdp\":" + JSON.writeValueAsString(answerSdp) + "}");
    ws.expect("notify");
    connect(stallDtls);
  }

  private void connect(boolean stallDtls) throws Exception {
    if (helloFirst && dtls instanceof DtlsClientEngine c) {
      checkSentNanos = System.nanoTime();
      c.start(System.currentTimeMillis());
      c.awaitIdle();
      send(earlyHello = c.pollTransmit());
    }
    byte[] tid = new byte[12];
    random.nextBytes(tid);
    send(StunMessage.builder(StunClass.REQUEST, StunMessage.METHOD_BINDING, tid)
        .add(new StunAttribute.Username(serverUfrag + ":" + ice.ufrag()))
        .add(new StunAttribute.IceControlling(random.nextLong()))
        .add(new StunAttribute.Priority(1853824767L))
        .add(new StunAttribute.UseCandidate())
        .encode(serverPwd.getBytes(StandardCharsets.UTF_8), true));
    if (earlyHello == null) {
      checkSentNanos = System.nanoTime();
    }
    if (dtls instanceof DtlsClientEngine c && earlyHello == null) {
      c.start(System.currentTimeMillis()); // the ClientHello goes out right after the binding request
    }
    long deadline = System.currentTimeMillis() + DEADLINE_MS;
    while (srtp == null) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("DTLS did not complete");
      }
      boolean sent = false;
      for (byte[] d; (d = dtls.pollTransmit()) != null; ) {
        send(d);
        sent = true;
      }
      if (stallDtls && sent) {
        dtls.close(); // the ClientHello is out: go silent
        return;
      }
      for (DtlsEvent e; (e = dtls.pollEvent()) != null; ) {
        if (e instanceof DtlsEvent.HandshakeComplete hc) {
          srtp = dtls instanceof DtlsClientEngine ? SrtpSession.forClient(hc.keys()) : SrtpSession.forServer(hc.keys());
          dtlsDoneNanos = System.nanoTime();
        } else {
          throw new AssertionError("DTLS ended: " + e);
        }
      }
      byte[] in = receive();
      if (in != null && Demux.classify(in) == PacketKind.DTLS) {
        dtls.handleDatagram(in, System.currentTimeMillis());
      }
      dtls.poll(System.currentTimeMillis());
    }
  }

  String serverUfrag() {
    return serverUfrag;
  }

  String serverPwd() {
    return serverPwd;
  }

  String localUfrag() {
    return ice.ufrag();
  }

  /**
   * Asks for an ICE restart and answers the re-offer as a browser does (new local ICE credentials, same m-lines,
   * same SSRCs); returns the re-offer's SDP. Checks are not sent: call {@link #check}.
   */
  String restartIce() throws Exception {
    ws.send("{\"type\":\"ice-restart\"}");
    JsonNode m;
    while (!(m = ws.next()).path("type").asText().equals("re-offer")) {
      String type = m.path("type").asText();
      if (type.equals("ping")) {
        ws.send("{\"type\":\"pong\"}");
      } else if (!type.equals("notify")) { // notifies of members that joined meanwhile are fine
        throw new AssertionError("expected re-offer, got " + m);
      }
    }
    String reoffer = m.get("sdp").asText();
    answerIceRestart(reoffer);
    return reoffer;
  }

  /** Answers a re-offer that restarts ICE with new local credentials, and waits until the server has it. */
  void answerIceRestart(String reoffer) throws Exception {
    for (String l : reoffer.split("\r\n")) {
      if (l.startsWith("a=ice-ufrag:")) {
        serverUfrag = l.substring(12);
      } else if (l.startsWith("a=ice-pwd:")) {
        serverPwd = l.substring(10);
      }
    }
    ice = IceCredentials.random(random);
    String answer = new FakeBrowserSdp(seed, ice.ufrag(), ice.password(), certificate.fingerprint().toSdpValue())
        .answer(reoffer, publish);
    ws.send("{\"type\":\"re-answer\",\"sdp\":" + JSON.writeValueAsString(answer) + "}");
    for (JsonNode m : ws.sync()) { // the server has processed the re-answer
      if (!m.path("type").asText().equals("ping")) {
        throw new AssertionError("unexpected after the re-answer: " + m);
      }
      ws.send("{\"type\":\"pong\"}");
    }
  }

  /** The next re-offer's SDP (pings answered, notifies and the periodic downlink-stats skipped). */
  String nextReoffer() throws Exception {
    while (true) {
      JsonNode m = ws.next();
      String type = m.path("type").asText();
      if (type.equals("re-offer")) {
        return m.get("sdp").asText();
      }
      if (type.equals("ping")) {
        ws.send("{\"type\":\"pong\"}");
      } else if (!type.equals("notify") && !type.equals("downlink-stats")) {
        throw new AssertionError("expected re-offer, got " + m);
      }
    }
  }

  /** Answers a re-offer that keeps the ICE credentials, as a browser does (rejected m-lines rejected too). */
  void answerReoffer(String reoffer) throws Exception {
    String answer = new FakeBrowserSdp(seed, ice.ufrag(), ice.password(), certificate.fingerprint().toSdpValue())
        .answer(reoffer, publish);
    ws.send("{\"type\":\"re-answer\",\"sdp\":" + JSON.writeValueAsString(answer) + "}");
  }

  /** Sends a Binding request with these credentials and returns the server's response (other packets skipped). */
  StunMessage check(String serverUfrag, String serverPwd, String localUfrag, boolean useCandidate)
      throws Exception {
    byte[] tid = new byte[12];
    random.nextBytes(tid);
    StunMessage.Builder b = StunMessage.builder(StunClass.REQUEST, StunMessage.METHOD_BINDING, tid)
        .add(new StunAttribute.Username(serverUfrag + ":" + localUfrag))
        .add(new StunAttribute.IceControlling(random.nextLong()))
        .add(new StunAttribute.Priority(1853824767L));
    if (useCandidate) {
      b.add(new StunAttribute.UseCandidate());
    }
    send(b.encode(serverPwd.getBytes(StandardCharsets.UTF_8), true));
    long deadline = System.currentTimeMillis() + DEADLINE_MS;
    while (System.currentTimeMillis() < deadline) {
      byte[] in = receive();
      if (in != null && Demux.classify(in) == PacketKind.STUN) {
        StunMessage m = StunMessage.decode(in, 0, in.length);
        if (java.util.Arrays.equals(tid, m.transactionId())) {
          return m;
        }
      }
    }
    throw new AssertionError("no STUN response");
  }

  /** A network change: from now on this peer sends and receives on a new local port (DTLS and SRTP carry on). */
  void moveToNewPort() throws Exception {
    DatagramSocket fresh = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    fresh.setSoTimeout(20);
    socket.close();
    socket = fresh;
  }

  /** Closes this peer's UDP socket only (its port is gone, its WebSocket stays): a client that vanished. */
  void closeSocketOnly() {
    socket.close();
  }

  int localPort() {
    return socket.getLocalPort();
  }

  /** The ICE-TCP connection (overTcp), else null; its frames are decoded by {@link #tcpIn}. */
  private java.net.Socket tcp;
  private final dev.veil.webrtc.ice.TcpFrameDecoder tcpIn = new dev.veil.webrtc.ice.TcpFrameDecoder(65535);
  private final java.util.ArrayDeque<byte[]> tcpFrames = new java.util.ArrayDeque<>();

  /** The local address of this peer's TCP connection (overTcp). */
  InetSocketAddress tcpLocalAddress() {
    return (InetSocketAddress) tcp.getLocalSocketAddress();
  }

  private void send(byte[] b) throws Exception {
    if (tcp != null) {
      tcp.getOutputStream().write(dev.veil.webrtc.ice.TcpFrameDecoder.encode(b));
      return;
    }
    socket.send(new DatagramPacket(b, b.length, server));
  }

  private byte[] receive() throws Exception {
    if (tcp != null) {
      return receiveTcp();
    }
    byte[] buf = new byte[1600];
    DatagramPacket p = new DatagramPacket(buf, buf.length);
    try {
      socket.receive(p);
    } catch (SocketTimeoutException e) {
      return null;
    }
    byte[] out = new byte[p.getLength()];
    System.arraycopy(buf, 0, out, 0, out.length);
    return out;
  }

  /** The SSRCs of {@code a=ssrc} lines in {@code sdp}, in order. */
  static List<Long> ssrcs(String sdp) {
    // media SSRCs only: the RTX SSRC of an a=ssrc-group:FID (the second one) is not a track's
    java.util.Set<Long> rtx = new java.util.HashSet<>();
    Matcher g = Pattern.compile("a=ssrc-group:FID (\\d+) (\\d+)").matcher(sdp);
    while (g.find()) {
      rtx.add(Long.parseLong(g.group(2)));
    }
    List<Long> out = new ArrayList<>();
    Matcher m = Pattern.compile("a=ssrc:(\\d+) cname:").matcher(sdp);
    while (m.find()) {
      long ssrc = Long.parseLong(m.group(1));
      if (!rtx.contains(ssrc)) {
        out.add(ssrc);
      }
    }
    return out;
  }

  /**
   * Sends one Opus RTP packet with {@code payload} and the transport-wide sequence number {@code twccSeq} in a
   * one-byte header extension element with id {@code extId}.
   */
  void sendOpusWithTransportSequence(long ssrc, int seq, long timestamp, int extId, int twccSeq, byte[] payload)
      throws Exception {
    dev.veil.webrtc.rtp.RtpHeader h = dev.veil.webrtc.rtp.RtpHeader.of(false, 111, seq, timestamp, ssrc)
        .withExtensions(List.of(new dev.veil.webrtc.rtp.HeaderExtension(extId,
            new byte[] {(byte) (twccSeq >>> 8), (byte) twccSeq})));
    send(srtp.protectRtp(dev.veil.webrtc.rtp.RtpPacket.build(h, payload, 0, payload.length)));
  }

  /** The next RTCP datagram within ~20 ms, decrypted and parsed, or null (RTP and STUN are skipped). */
  List<dev.veil.webrtc.rtcp.RtcpPacket> pollRtcp() throws Exception {
    byte[] in = receive();
    if (in == null || Demux.classify(in) != PacketKind.RTCP) {
      return null;
    }
    return dev.veil.webrtc.rtcp.RtcpCompound.parse(srtp.unprotectRtcp(in));
  }

  /** The next RTP packet within ~20 ms, decrypted, whole (header and extensions included), or null. */
  byte[] pollRtpPacket() throws Exception {
    byte[] in = receive();
    if (in == null || Demux.classify(in) != PacketKind.RTP) {
      return null;
    }
    return srtp.unprotectRtp(in);
  }

  /** Sends a plain RTCP compound, SRTCP-protected. */
  void sendRtcp(byte[] plain) throws Exception {
    send(srtp.protectRtcp(plain));
  }

  /** Sends one Opus RTP packet with {@code payload}. */
  void sendOpus(long ssrc, int seq, long timestamp, byte[] payload) throws Exception {
    send(protectOpus(ssrc, seq, timestamp, payload));
  }

  /** The SRTP datagram {@link #sendOpus} would send (protected now, in sequence with what this peer sends). */
  byte[] protectOpus(long ssrc, int seq, long timestamp, byte[] payload) throws Exception {
    byte[] rtp = new byte[12 + payload.length];
    rtp[0] = (byte) 0x80;
    rtp[1] = 111;
    rtp[2] = (byte) (seq >>> 8);
    rtp[3] = (byte) seq;
    for (int i = 0; i < 4; i++) {
      rtp[4 + i] = (byte) (timestamp >>> (24 - 8 * i));
      rtp[8 + i] = (byte) (ssrc >>> (24 - 8 * i));
    }
    System.arraycopy(payload, 0, rtp, 12, payload.length);
    return srtp.protectRtp(rtp);
  }

  /** Sends one plain RTP packet (SRTP-protected here). */
  void sendRtp(byte[] rtp) throws Exception {
    send(srtp.protectRtp(rtp));
  }

  /** A received RTP packet, decrypted. */
  record Rtp(long ssrc, int payloadType, byte[] payload, int seq) {}

  /** Sends one compound RTCP packet (SRTCP-protected here). */
  void sendRtcp(dev.veil.webrtc.rtcp.RtcpPacket... packets) throws Exception {
    send(srtp.protectRtcp(dev.veil.webrtc.rtcp.RtcpCompound.write(List.of(packets))));
  }

  /** SSRC of which {@link #pollRtp} loses the next packet (reads its clear header, never decrypts it), or -1. */
  private long loseSsrc = -1;
  /** The sequence number of the packet lost that way, or -1. */
  volatile int lostSeq = -1;

  /** Makes the next RTP packet of {@code ssrc} a loss (as if the network dropped it; see {@link #lostSeq}). */
  void loseNext(long ssrc) {
    loseSsrc = ssrc;
    lostSeq = -1;
  }

  /** The next RTP packet within ~20 ms, or null (RTCP and STUN are skipped). */
  Rtp pollRtp() throws Exception {
    byte[] in = receive();
    if (in == null || Demux.classify(in) != PacketKind.RTP) {
      return null;
    }
    long clearSsrc = ((in[8] & 0xffL) << 24) | ((in[9] & 0xffL) << 16) | ((in[10] & 0xffL) << 8) | (in[11] & 0xffL);
    if (clearSsrc == loseSsrc) {
      loseSsrc = -1;
      lostSeq = ((in[2] & 0xff) << 8) | (in[3] & 0xff);
      return null;
    }
    byte[] p = srtp.unprotectRtp(in);
    long ssrc = ((p[8] & 0xffL) << 24) | ((p[9] & 0xffL) << 16) | ((p[10] & 0xffL) << 8) | (p[11] & 0xffL);
    int cc = p[0] & 0x0f;
    int off = 12 + 4 * cc;
    if ((p[0] & 0x10) != 0) {
      int extLen = ((p[off + 2] & 0xff) << 8 | (p[off + 3] & 0xff)) * 4;
      off += 4 + extLen;
    }
    int end = p.length;
    if ((p[0] & 0x20) != 0) {
      end -= p[p.length - 1] & 0xff;
    }
    byte[] payload = new byte[end - off];
    System.arraycopy(p, off, payload, 0, payload.length);
    return new Rtp(ssrc, p[1] & 0x7f, payload, ((p[2] & 0xff) << 8) | (p[3] & 0xff));
  }

  /** The next frame from the TCP connection within ~20 ms, or null. */
  private byte[] receiveTcp() throws Exception {
    if (tcpFrames.isEmpty()) {
      byte[] buf = new byte[8192];
      int n;
      try {
        n = tcp.getInputStream().read(buf);
      } catch (SocketTimeoutException e) {
        return null;
      }
      if (n < 0) {
        throw new AssertionError("the server closed the ICE-TCP connection");
      }
      for (int off = 0; off < n; ) {
        off += tcpIn.feed(buf, off, n - off);
        byte[] f = tcpIn.poll();
        if (f != null) {
          tcpFrames.add(f);
        }
        if (tcpIn.failed()) {
          throw new AssertionError("bad framing from the server: " + tcpIn.failure());
        }
      }
    }
    return tcpFrames.poll();
  }

  @Override
  public void close() {
    dtls.close();
    if (socket != null) {
      socket.close();
    }
    if (tcp != null) {
      try {
        tcp.close();
      } catch (java.io.IOException e) {
        // closing anyway
      }
    }
    ws.close();
  }
}
