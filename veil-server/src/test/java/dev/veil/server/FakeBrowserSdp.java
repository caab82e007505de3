package dev.veil.server;

import dev.veil.webrtc.sdp.BrowserLikeAnswer;
import java.util.Locale;
import java.util.Random;

/**
 * The SDP answer a browser would give to the server's offer, for signaling tests that have no browser
 * ({@link BrowserLikeAnswer}), with a seeded fake certificate fingerprint or real credentials.
 */
final class FakeBrowserSdp {
  private final Random random;
  private final String fingerprint;

  private final String ufrag;
  private final String pwd;

  FakeBrowserSdp(long seed) {
    this.random = new Random(seed);
    StringBuilder fp = new StringBuilder();
    for (int i = 0; i < 32; i++) {
      fp.append(i == 0 ? "" : ":").append(String.format(Locale.ROOT, "%02X", random.nextInt(256)));
    }
    this.fingerprint = "sha-256 " + fp;
    this.ufrag = "fake";
    this.pwd = "fakefakefakefakefakefake";
  }

  /** Answers with real ICE credentials and a real certificate fingerprint ({@code "sha-256 AB:..."}). */
  FakeBrowserSdp(long seed, String ufrag, String pwd, String fingerprintSdpValue) {
    this.random = new Random(seed);
    this.fingerprint = fingerprintSdpValue;
    this.ufrag = ufrag;
    this.pwd = pwd;
  }

  /** The answer to {@code offer}; {@code publish} says whether to send on the m-lines the server receives. */
  String answer(String offer, boolean publish) {
    return BrowserLikeAnswer.answer(offer, publish, ufrag, pwd, fingerprint, "browser", random);
  }
}
