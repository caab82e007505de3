package dev.veil.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.veil.webrtc.dtls.DtlsCertificate;
import dev.veil.webrtc.dtls.DtlsClientEngine;
import dev.veil.webrtc.dtls.DtlsConfig;
import dev.veil.webrtc.dtls.DtlsEvent;
import dev.veil.webrtc.ice.IceCredentials;
import dev.veil.webrtc.sdp.BrowserLikeAnswer;
import dev.veil.webrtc.mux.Demux;
import dev.veil.webrtc.mux.PacketKind;
import dev.veil.webrtc.sdp.DtlsFingerprint;
import dev.veil.webrtc.srtp.SrtpSession;
import dev.veil.webrtc.stun.StunAttribute;
import dev.veil.webrtc.stun.StunClass;
import dev.veil.webrtc.stun.StunMessage;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A lean load client for the SFU (no SDK, no decoding): joins a channel over the WebSocket signaling (JDK
 * {@link WebSocket}), answers the offer like a browser would (every m-line accepted, {@code a=setup:active}), sends
 * one ICE check with USE-CANDIDATE and completes DTLS as the client with Veil's own engines. A publisher then sends
 * Opus-like SRTP packets ({@link #sendAudio}); a subscriber's datagrams are only counted by the caller (no SRTP
 * unprotect), so the clients cost the machine far less than the server they load. Pings are ponged and re-offers
 * re-answered on the WebSocket's thread; {@link #consentCheck()} keeps ICE consent (RFC 7675) alive.
 */
final class LoadPeer implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  final String channel;
  final boolean publisher;
  final DatagramChannel udp;
  private final InetSocketAddress server;
  private final IceCredentials ice;
  private final Random random;
  private final DtlsCertificate certificate;
  private final BlockingQueue<JsonNode> inbox = new LinkedBlockingQueue<>();
  private final WebSocket ws;
  private String serverUfrag;
  private String serverPwd;
  private SrtpSession srtp;
  private long ssrc;
  private int seq;
  /** Nanos: WebSocket open started, offer received, DTLS complete. */
  final long startNanos;
  long offerNanos;
  long connectedNanos;

  /** Opens the WebSocket and sends connect (returns at once; {@link #connect} completes the join). */
  LoadPeer(HttpClient http, int httpPort, int rtcPort, String channel, boolean publisher, DtlsCertificate certificate,
      long seed) throws Exception {
    this.startNanos = System.nanoTime();
    this.channel = channel;
    this.publisher = publisher;
    this.certificate = certificate;
    this.random = new Random(seed);
    this.ice = IceCredentials.random(random);
    this.server = new InetSocketAddress(InetAddress.getLoopbackAddress(), rtcPort);
    this.udp = DatagramChannel.open();
    udp.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    udp.setOption(java.net.StandardSocketOptions.SO_RCVBUF, 1 << 20);
    this.ws = http.newWebSocketBuilder().buildAsync(URI.create("ws://127.0.0.1:" + httpPort + "/signaling"),
        new Listener()).get(30, TimeUnit.SECONDS);
    String role = publisher ? "sendonly" : "recvonly";
    ws.sendText("{\"type\":\"connect\",\"role\":\"" + role + "\",\"channel_id\":\"" + channel
        + "\",\"video\":false}", true).get(10, TimeUnit.SECONDS);
  }

  /** Waits for the offer, answers it, connects ICE and DTLS. */
  void connect(ExecutorService dtlsPool, long timeoutMillis) throws Exception {
    long deadline = System.currentTimeMillis() + timeoutMillis;
    JsonNode offer = expect("offer", deadline);
    offerNanos = System.nanoTime();
    String sdp = offer.get("sdp").asText();
    String fingerprint = null;
    for (String l : sdp.split("\r\n")) {
      if (l.startsWith("a=ice-ufrag:")) {
        serverUfrag = l.substring(12);
      } else if (l.startsWith("a=ice-pwd:")) {
        serverPwd = l.substring(10);
      } else if (l.startsWith("a=fingerprint:")) {
        fingerprint = l.substring(14);
      }
    }
    String answer = answer(sdp);
    ws.sendText("{\"type\":\"answer\",\"sdp\":" + JSON.writeValueAsString(answer) + "}", true)
        .get(10, TimeUnit.SECONDS);
    DtlsClientEngine dtls = new DtlsClientEngine(certificate, DtlsConfig.defaults(), dtlsPool, () -> { },
        new SecureRandom());
    dtls.setRemoteFingerprint(DtlsFingerprint.parse(fingerprint));
    sendCheck(true);
    long nextCheck = System.currentTimeMillis() + 200;
    dtls.start(System.currentTimeMillis());
    ByteBuffer buf = ByteBuffer.allocate(2048);
    udp.configureBlocking(false);
    try {
      while (srtp == null) {
        if (System.currentTimeMillis() > deadline) {
          throw new IllegalStateException(channel + ": DTLS did not complete in time");
        }
        for (byte[] d; (d = dtls.pollTransmit()) != null; ) {
          udp.send(ByteBuffer.wrap(d), server);
        }
        for (DtlsEvent e; (e = dtls.pollEvent()) != null; ) {
          if (e instanceof DtlsEvent.HandshakeComplete hc) {
            srtp = SrtpSession.forClient(hc.keys());
            connectedNanos = System.nanoTime();
          } else {
            throw new IllegalStateException("DTLS ended: " + e);
          }
        }
        buf.clear();
        boolean got = false;
        while (udp.receive(buf) != null) {
          got = true;
          buf.flip();
          byte[] in = new byte[buf.remaining()];
          buf.get(in);
          buf.clear();
          if (Demux.classify(in) == PacketKind.DTLS) {
            dtls.handleDatagram(in, System.currentTimeMillis());
          }
        }
        dtls.poll(System.currentTimeMillis());
        if (srtp == null && System.currentTimeMillis() >= nextCheck) {
          // as browsers do: the check is retransmitted until the connection is up (the first one may reach the
          // server before it has applied the answer)
          sendCheck(true);
          nextCheck = System.currentTimeMillis() + 200;
        }
        if (!got && srtp == null) {
          Thread.sleep(1); // polling the non-blocking socket and the DTLS worker, not synchronising on time
        }
      }
    } finally {
      dtls.close();
    }
    if (publisher) {
      udp.configureBlocking(true); // a full send buffer slows the pacer down instead of dropping the packet
      for (String l : answer.split("\r\n")) {
        if (l.startsWith("a=ssrc:")) {
          ssrc = Long.parseLong(l.substring(7, l.indexOf(' ')));
          break;
        }
      }
    }
  }

  /** Sends one Opus RTP packet of {@code payloadBytes} (a publisher, after {@link #connect}); false if SRTP failed. */
  boolean sendAudio(byte[] payload, long nowMicros) throws Exception {
    byte[] rtp = new byte[12 + payload.length];
    rtp[0] = (byte) 0x80;
    rtp[1] = 111;
    int s = seq++;
    long ts = nowMicros * 48 / 1000;
    rtp[2] = (byte) (s >>> 8);
    rtp[3] = (byte) s;
    for (int i = 0; i < 4; i++) {
      rtp[4 + i] = (byte) (ts >>> (24 - 8 * i));
      rtp[8 + i] = (byte) (ssrc >>> (24 - 8 * i));
    }
    System.arraycopy(payload, 0, rtp, 12, payload.length);
    return udp.send(ByteBuffer.wrap(srtp.protectRtp(rtp)), server) > 0;
  }

  /** A Binding request (consent freshness); the response is left to whoever reads the socket. */
  void consentCheck() throws Exception {
    sendCheck(false);
  }

  private void sendCheck(boolean useCandidate) throws Exception {
    byte[] tid = new byte[12];
    random.nextBytes(tid);
    StunMessage.Builder b = StunMessage.builder(StunClass.REQUEST, StunMessage.METHOD_BINDING, tid)
        .add(new StunAttribute.Username(serverUfrag + ":" + ice.ufrag()))
        .add(new StunAttribute.IceControlling(random.nextLong()))
        .add(new StunAttribute.Priority(1853824767L));
    if (useCandidate) {
      b.add(new StunAttribute.UseCandidate());
    }
    udp.send(ByteBuffer.wrap(b.encode(serverPwd.getBytes(StandardCharsets.UTF_8), true)), server);
  }

  private JsonNode expect(String type, long deadline) throws Exception {
    while (true) {
      long left = deadline - System.currentTimeMillis();
      JsonNode m = left <= 0 ? null : inbox.poll(left, TimeUnit.MILLISECONDS);
      if (m == null) {
        throw new IllegalStateException(channel + ": no " + type + " in time");
      }
      String t = m.path("type").asText();
      if (t.equals(type)) {
        return m;
      }
      if (t.equals("error")) {
        throw new IllegalStateException(channel + ": error " + m);
      }
    }
  }

  /** A browser-like answer ({@link BrowserLikeAnswer}): every m-line accepted, direction reversed, an SSRC if sending. */
  private String answer(String offer) {
    return BrowserLikeAnswer.answer(offer, publisher, ice.ufrag(), ice.password(),
        certificate.fingerprint().toSdpValue(), "load", random);
  }

  private final class Listener implements WebSocket.Listener {
    private final StringBuilder text = new StringBuilder();

    @Override
    public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
      text.append(data);
      if (last) {
        String msg = text.toString();
        text.setLength(0);
        try {
          JsonNode m = JSON.readTree(msg);
          String t = m.path("type").asText();
          if (t.equals("ping")) {
            w.sendText("{\"type\":\"pong\"}", true);
          } else if (t.equals("re-offer")) {
            w.sendText("{\"type\":\"re-answer\",\"sdp\":" + JSON.writeValueAsString(answer(m.get("sdp").asText()))
                + "}", true);
          } else {
            inbox.add(m);
          }
        } catch (Exception e) {
          inbox.add(JSON.createObjectNode().put("type", "error").put("reason", e.toString()));
        }
      }
      w.request(1);
      return null;
    }
  }

  @Override
  public void close() {
    try {
      ws.sendClose(WebSocket.NORMAL_CLOSURE, "").get(2, TimeUnit.SECONDS);
    } catch (Exception e) {
      ws.abort();
    }
    try {
      udp.close();
    } catch (java.io.IOException ignored) {
      // closing anyway
    }
  }
}
