package dev.veil.server;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Writes the SDP answer a browser would give to the server's offer (for signaling tests that have no browser):
 * every m-line accepted with all offered formats, the direction reversed, and an SSRC on the m-lines it sends; an
 * m-line the offer rejects (port 0) is rejected in the answer too (like Chromium: port 0, its mid, out of BUNDLE).
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
    List<String> sections = new ArrayList<>();
    String[] parts = offer.split("\r\nm=");
    List<String> mids = new ArrayList<>();
    for (int i = 1; i < parts.length; i++) {
      String[] lines = ("m=" + parts[i]).split("\r\n");
      String[] mline = lines[0].split(" ");
      String mid = null;
      String dir = "sendrecv";
      List<String> rtp = new ArrayList<>();
      for (String l : lines) {
        if (l.startsWith("a=mid:")) {
          mid = l.substring(6);
        } else if (l.matches("a=(sendrecv|sendonly|recvonly|inactive)")) {
          dir = l.substring(2);
        } else if (l.startsWith("a=rtpmap:") || l.startsWith("a=fmtp:") || l.startsWith("a=rtcp-fb:")) {
          rtp.add(l);
        }
      }
      if (mline[1].equals("0")) {
        sections.add(mline[0] + " 0 " + mline[2] + " 0\r\nc=IN IP4 0.0.0.0\r\na=mid:" + mid + "\r\n");
        continue;
      }
      mids.add(mid);
      String answerDir;
      switch (dir) {
        case "recvonly":
          answerDir = publish ? "sendonly" : "inactive";
          break;
        case "sendonly":
          answerDir = "recvonly";
          break;
        default:
          answerDir = "inactive";
      }
      StringBuilder s = new StringBuilder();
      s.append(mline[0]).append(" 9 ").append(String.join(" ", java.util.Arrays.copyOfRange(mline, 2, mline.length)))
          .append("\r\n");
      s.append("c=IN IP4 0.0.0.0\r\n");
      s.append("a=mid:").append(mid).append("\r\n");
      s.append("a=").append(answerDir).append("\r\n");
      s.append("a=ice-ufrag:").append(ufrag).append("\r\n");
      s.append("a=ice-pwd:").append(pwd).append("\r\n");
      s.append("a=fingerprint:").append(fingerprint).append("\r\n");
      s.append("a=setup:active\r\n");
      s.append("a=rtcp-mux\r\n");
      for (String l : rtp) {
        s.append(l).append("\r\n");
      }
      if (answerDir.equals("sendonly")) {
        long ssrc = random.nextInt() & 0xffffffffL;
        s.append("a=msid:browser track").append(mid).append("\r\n");
        s.append("a=ssrc:").append(ssrc).append(" cname:browser\r\n");
      }
      sections.add(s.toString());
    }
    StringBuilder out = new StringBuilder();
    out.append("v=0\r\no=- 42 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n");
    out.append("a=group:BUNDLE ").append(String.join(" ", mids)).append("\r\n");
    out.append("a=msid-semantic: WMS *\r\n");
    for (String s : sections) {
      out.append(s);
    }
    return out.toString();
  }
}
