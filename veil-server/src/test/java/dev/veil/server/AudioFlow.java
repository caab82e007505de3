package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;

/**
 * Numbered Opus packets ("opus frame N", payload type 111) sent by a publisher until a subscriber got {@code n} of
 * them, each received packet checked: the subscriber's SSRC, payload type 111, and (strict) a payload this flow sent.
 * The sequence numbers go on from one flow to the next. Fails after 20 s.
 */
final class AudioFlow {
  private static final long DEADLINE_MILLIS = 20_000;
  private int seq;

  AudioFlow() {
    this(100);
  }

  AudioFlow(int firstSeq) {
    this.seq = firstSeq;
  }

  /** The next sequence number (for a test's own packets in between flows). */
  int nextSeq() {
    return seq++;
  }

  /** As {@link #send(MediaTestPeer, long, MediaTestPeer, long, int, boolean)} with the SSRCs of their SDPs. */
  Set<String> send(MediaTestPeer pub, MediaTestPeer sub, int n, boolean strict) throws Exception {
    return send(pub, MediaTestPeer.ssrcs(pub.answerSdp).get(0), sub, MediaTestPeer.ssrcs(sub.offerSdp).get(0), n,
        strict);
  }

  /**
   * Sends until {@code sub} got {@code n} packets of this flow; returns their payloads. {@code strict}: any other
   * payload fails; else it is skipped (an earlier flow's packet still on its way).
   */
  Set<String> send(MediaTestPeer pub, long pubSsrc, MediaTestPeer sub, long subSsrc, int n, boolean strict)
      throws Exception {
    Set<String> sent = new HashSet<>();
    Set<String> got = new HashSet<>();
    long deadline = System.currentTimeMillis() + DEADLINE_MILLIS;
    while (got.size() < n) {
      assertTrue(System.currentTimeMillis() < deadline, "only " + got.size() + " of " + n + " packets arrived");
      String payload = "opus frame " + seq;
      sent.add(payload);
      pub.sendOpus(pubSsrc, seq, seq * 960L, payload.getBytes(StandardCharsets.US_ASCII));
      seq++;
      for (MediaTestPeer.Rtp r; (r = sub.pollRtp()) != null; ) {
        assertEquals(subSsrc, r.ssrc(), "forwarded with the SSRC announced to the subscriber");
        assertEquals(111, r.payloadType());
        String p = new String(r.payload(), StandardCharsets.US_ASCII);
        if (strict) {
          assertTrue(sent.contains(p), "payload forwarded unchanged: " + p);
        }
        if (sent.contains(p)) {
          got.add(p);
        }
      }
    }
    return got;
  }
}
