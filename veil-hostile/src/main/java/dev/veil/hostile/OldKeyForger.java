package dev.veil.hostile;

import dev.veil.e2ee.codec.Codec;
import dev.veil.e2ee.codec.DecryptResult;
import dev.veil.e2ee.codec.FrameType;
import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.sframe.CipherSuite;
import dev.veil.e2ee.sframe.SFrameReceiver;
import dev.veil.e2ee.sframe.SFrameSender;
import dev.veil.e2ee.util.SecretBytes;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Frames forged under a departed member's old keys, in video (the browser suite): a member who left (colluding with
 * the server) hands it the keys it held of a sender (the victim's peer). The server finds, among the sender's video
 * packets it recorded on every path, a VP8 key frame that one of those keys opens, and from then on replaces the
 * sender's video to the victim frame by frame: in place of each live frame (at its RTP timestamp) it sends that key
 * frame encrypted again under the old key with fresh counters (far above any the sender used), packetized as VP8
 * (RFC 7741). Audio passes. A receiver that accepted an old key would decode every forged frame (a real key frame);
 * one that expired the key decodes none.
 */
public final class OldKeyForger implements HostileMedia.PacketAction {
  /** The suite of the SDKs' group keys (E2eeSession.SUITE, sframe.js DEFAULT_SUITE). */
  static final CipherSuite SUITE = CipherSuite.AES_128_GCM_SHA256_128;
  /** The first forged counter: far above anything the sender reaches in a test (a 5-byte SFrame CTR). */
  static final long FIRST_COUNTER = 1L << 32;
  private static final int MAX_PAYLOAD = 1000;

  private final String senderId;
  private final String victimId;
  private final long victimSsrc;
  private final SFrameSender forger;
  private final byte[] keyFrame;
  private volatile int forged;

  /**
   * @param keys the leaver's keys of the sender: KID → base key
   */
  public OldKeyForger(HostileRelay relay, HostileMedia media, HostileRelay.Link victim, String senderId,
      Map<Long, byte[]> keys) throws Exception {
    this.senderId = senderId;
    this.victimId = victim.connectionId;
    this.victimSsrc = SdpText.sendingSsrc(victim.serverSdp, senderId, "video");
    byte[] found = null;
    long foundKid = -1;
    search:
    for (HostileRelay.Link l : relay.links) {
      if (l.serverSdp == null || senderId.equals(l.connectionId)) {
        continue;
      }
      long ssrc;
      try {
        ssrc = SdpText.sendingSsrc(l.serverSdp, senderId, "video");
      } catch (IllegalArgumentException e) {
        continue;
      }
      for (byte[] frame : keyFrames(media.recordedPackets(senderId, l.connectionId), ssrc)) {
        for (Map.Entry<Long, byte[]> k : keys.entrySet()) {
          SFrameReceiver r = new SFrameReceiver(SUITE);
          r.addKey(KeyId.fromKid(k.getKey()), SecretBytes.copyOf(k.getValue()));
          byte[] out = new byte[r.maxDecryptedLength(frame.length)];
          if (r.decryptFrame(Codec.VP8, FrameType.KEY, frame, 0, frame.length, out, 0)
              instanceof DecryptResult.Decrypted d) {
            found = Arrays.copyOf(out, d.length());
            foundKid = k.getKey();
            break search;
          }
        }
      }
    }
    if (found == null) {
      throw new IllegalStateException("no recorded key frame of " + senderId + " opens under the given keys");
    }
    this.keyFrame = found;
    // SFrameSender starts at counter 0 and has no public way to start elsewhere; its constructor for tests of
    // counter exhaustion does (a forger is free to pick any counter: nothing but the receiver's checks stops it)
    java.lang.reflect.Constructor<SFrameSender> at =
        SFrameSender.class.getDeclaredConstructor(CipherSuite.class, long.class);
    at.setAccessible(true);
    forger = at.newInstance(SUITE, FIRST_COUNTER);
    forger.setKey(KeyId.fromKid(foundKid), SecretBytes.copyOf(keys.get(foundKid)));
  }

  /** Frames forged (and sent) so far. */
  public int forged() {
    return forged;
  }

  @Override
  public List<byte[]> apply(String from, String to, byte[] rtp) {
    if (!from.equals(senderId) || !to.equals(victimId) || ssrcOf(rtp) != victimSsrc) {
      return List.of(rtp);
    }
    if ((rtp[1] & 0x80) == 0) {
      return List.of(); // the live frame's other packets: dropped
    }
    byte[] frame;
    try {
      frame = forger.encryptFrame(Codec.VP8, FrameType.KEY, keyFrame);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    forged++;
    int off = HostileMedia.payloadOffset(rtp);
    List<byte[]> out = new ArrayList<>();
    for (int at = 0; at < frame.length; at += MAX_PAYLOAD) {
      int n = Math.min(MAX_PAYLOAD, frame.length - at);
      byte[] p = new byte[off + 1 + n];
      System.arraycopy(rtp, 0, p, 0, off);
      boolean last = at + n == frame.length;
      p[1] = (byte) ((p[1] & 0x7f) | (last ? 0x80 : 0));
      p[off] = (byte) (at == 0 ? 0x10 : 0x00); // VP8 payload descriptor: S on the first packet, partition 0
      System.arraycopy(frame, at, p, off + 1, n);
      out.add(p);
    }
    return out;
  }

  /** The whole (encrypted) VP8 key frames among recorded packets of one SSRC, in order. */
  static List<byte[]> keyFrames(List<byte[]> packets, long ssrc) {
    Map<Long, TreeMap<Integer, byte[]>> byTimestamp = new java.util.LinkedHashMap<>();
    for (byte[] p : packets) {
      if (ssrcOf(p) == ssrc) {
        long ts = ((p[4] & 0xffL) << 24) | ((p[5] & 0xff) << 16) | ((p[6] & 0xff) << 8) | (p[7] & 0xff);
        byTimestamp.computeIfAbsent(ts, k -> new TreeMap<>()).put(((p[2] & 0xff) << 8) | (p[3] & 0xff), p);
      }
    }
    List<byte[]> out = new ArrayList<>();
    for (TreeMap<Integer, byte[]> frame : byTimestamp.values()) {
      ByteArrayOutputStream data = new ByteArrayOutputStream();
      int expect = -1;
      boolean first = true;
      boolean start = false;
      boolean end = false;
      for (Map.Entry<Integer, byte[]> e : frame.entrySet()) {
        byte[] p = e.getValue();
        if (expect >= 0 && e.getKey() != expect) {
          break; // a gap (or a wrap inside the frame: skipped)
        }
        expect = (e.getKey() + 1) & 0xffff;
        int off = HostileMedia.payloadOffset(p);
        int d = descriptorLength(p, off);
        if (first) {
          start = (p[off] & 0x10) != 0 && (p[off] & 0x07) == 0;
          first = false;
        }
        data.write(p, off + d, p.length - off - d);
        end = (p[1] & 0x80) != 0;
      }
      byte[] f = data.toByteArray();
      if (start && end && f.length > 10 && (f[0] & 1) == 0) {
        out.add(f);
      }
    }
    return out;
  }

  /** Length of the VP8 RTP payload descriptor (RFC 7741 §4.2) at {@code off}. */
  private static int descriptorLength(byte[] p, int off) {
    int n = 1;
    if ((p[off] & 0x80) != 0) {
      int ext = p[off + 1] & 0xff;
      n = 2;
      if ((ext & 0x80) != 0) {
        n += (p[off + n] & 0x80) != 0 ? 2 : 1;
      }
      if ((ext & 0x40) != 0) {
        n++;
      }
      if ((ext & 0x30) != 0) {
        n++;
      }
    }
    return n;
  }

  static long ssrcOf(byte[] rtp) {
    return ((rtp[8] & 0xffL) << 24) | ((rtp[9] & 0xffL) << 16) | ((rtp[10] & 0xffL) << 8) | (rtp[11] & 0xffL);
  }
}
