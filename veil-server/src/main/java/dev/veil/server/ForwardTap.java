package dev.veil.server;

import dev.veil.webrtc.router.Consumer;
import dev.veil.webrtc.router.Producer;
import dev.veil.webrtc.router.Router;
import dev.veil.webrtc.router.RouterOutput;
import dev.veil.webrtc.rtp.RtpCodec;
import dev.veil.webrtc.rtp.RtpException;
import dev.veil.webrtc.rtp.RtpPacket;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;

/**
 * TEST ONLY: records the VP8, H.264, VP9 and AV1 RTP payloads the router forwards, so a browser test can show that what
 * the SFU relays
 * in an E2EE call is ciphertext. Made only by the hidden command-line flag {@code --test-forward-tap FILE}; no
 * configuration file key and no default turns it on (docs/SECURITY.md §4).
 *
 * <p>One JSON object per line, one line per forwarded VP8, H.264, VP9 or AV1 packet of a publisher (the copy sent to the
 * publisher's first consumer, so each packet appears once): {@code {"publisher":ID,"consumer":ID,
 * "codec":"VP8"|"H264"|"VP9"|"AV1",
 * "seq":N,"ts":N,"marker":B,"payload":BASE64}} where {@code payload} is the RTP payload (VP8 payload descriptor or
 * H.264 single NAL / STAP-A / FU-A, and the frame bytes as the
 * publisher's encoded transform left them), without padding. At most {@value #MAX_PER_PUBLISHER} packets per
 * publisher are written. Called on the media loops (synchronized: one tap for all of them).
 */
final class ForwardTap implements AutoCloseable {
  static final int MAX_PER_PUBLISHER = 20_000;

  private final OutputStream out;
  private final Map<String, Integer> counts = new HashMap<>();
  private boolean failed;

  ForwardTap(Path file) throws IOException {
    this.out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16);
  }

  /** Records {@code rtp} if it is VP8, H.264, VP9 or AV1 sent to its producer's first consumer. */
  synchronized void record(Router router, RouterOutput.Rtp rtp) {
    if (failed) {
      return;
    }
    Consumer c = router.findConsumer(rtp.consumerId());
    if (c == null) {
      return;
    }
    Producer p = c.producer();
    boolean tapped = p.codec() == RtpCodec.VP8 || p.codec() == RtpCodec.H264 || p.codec() == RtpCodec.VP9
        || p.codec() == RtpCodec.AV1;
    if (!tapped || p.consumers().isEmpty() || p.consumers().get(0) != c) {
      return;
    }
    int n = counts.merge(p.peerId(), 1, Integer::sum);
    if (n > MAX_PER_PUBLISHER) {
      return;
    }
    RtpPacket pkt;
    try {
      pkt = RtpPacket.parse(rtp.packet());
    } catch (RtpException e) {
      return;
    }
    if (pkt.payloadLength() == 0) {
      return;
    }
    byte[] payload = java.util.Arrays.copyOfRange(pkt.buffer(), pkt.payloadOffset(),
        pkt.payloadOffset() + pkt.payloadLength());
    String line = "{\"publisher\":\"" + p.peerId() + "\",\"consumer\":\"" + c.id() + "\",\"codec\":\""
        + p.codec() + "\",\"seq\":"
        + pkt.header().sequenceNumber() + ",\"ts\":" + pkt.header().timestamp() + ",\"marker\":"
        + pkt.header().marker() + ",\"payload\":\"" + Base64.getEncoder().encodeToString(payload) + "\"}\n";
    try {
      out.write(line.getBytes(StandardCharsets.US_ASCII));
      if (pkt.header().marker()) {
        out.flush();
      }
    } catch (IOException e) {
      failed = true;
    }
  }

  @Override
  public synchronized void close() {
    try {
      out.close();
    } catch (IOException e) {
      failed = true;
    }
  }
}
