package dev.veil.server;

import dev.veil.webrtc.rtp.RtpException;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.RtpPacket;
import dev.veil.webrtc.rtp.RtpStreamId;
import dev.veil.webrtc.rtp.RtxUnwrap;
import java.util.HashMap;
import java.util.Map;

/**
 * Receive side of a publisher's RTX streams (RFC 4588), on the event loop: an RTX packet becomes the original packet
 * it carries before routing; padding-only RTX packets and RTX packets repeating a packet already received (Chromium
 * sends its bandwidth probes as both) are dropped, after congestion control has seen them. The server offers RTX to
 * publishers only so that Chromium can probe; it sends no RTX itself.
 */
final class UplinkRtx {

  /**
   * One RTX stream: what it repairs, and the sequence numbers of the media stream seen lately (slot seq % 1024 holds
   * seq + 1).
   */
  private static final class Stream {
    final long mediaSsrc;
    final int payloadType;
    final int[] seen = new int[1024];

    Stream(long mediaSsrc, int payloadType) {
      this.mediaSsrc = mediaSsrc;
      this.payloadType = payloadType;
    }

    /** Marks {@code seq} seen; returns whether it was seen already. */
    boolean see(int seq) {
      int slot = seq & 1023;
      boolean dup = seen[slot] == seq + 1;
      seen[slot] = seq + 1;
      return dup;
    }
  }

  private final Map<Long, Stream> byRtxSsrc = new HashMap<>();
  private final Map<Long, Stream> byMediaSsrc = new HashMap<>();
  /** Simulcast: the extension ids and payload types that tell layers and their RTX streams apart (0: none). */
  private int ridExt;
  private int rridExt;
  private int rtxPt = -1;
  private int mediaPt = -1;
  /** Simulcast: the media SSRC of each rid seen (bounded by the rids a peer can name: at most MAX_RIDS). */
  private final Map<String, Long> ssrcByRid = new HashMap<>();
  private static final int MAX_RIDS = 8;
  private long unwrapped;
  private long padding;
  private long duplicates;

  /** Registers the RTX stream {@code rtxSsrc} of the media stream {@code mediaSsrc} (its payload type). */
  void add(long rtxSsrc, long mediaSsrc, int payloadType) {
    if (rtxSsrc == mediaSsrc) {
      return;
    }
    Stream s = new Stream(mediaSsrc, payloadType);
    byRtxSsrc.put(rtxSsrc, s);
    byMediaSsrc.put(mediaSsrc, s);
    reindex();
  }

  /**
   * The SSRCs of the maps as primitive arrays, for {@link #passesThrough} (no boxed lookup per packet); rebuilt on
   * every change of the maps (a handful of streams, changed at negotiation or on a simulcast layer's first packets).
   */
  private long[] rtxSsrcs = new long[0];
  private long[] mediaSsrcs = new long[0];
  private Stream[] mediaStreams = new Stream[0];
  private long[] ridSsrcs = new long[0];

  private void reindex() {
    rtxSsrcs = byRtxSsrc.keySet().stream().mapToLong(Long::longValue).toArray();
    mediaSsrcs = new long[byMediaSsrc.size()];
    mediaStreams = new Stream[byMediaSsrc.size()];
    int i = 0;
    for (Map.Entry<Long, Stream> e : byMediaSsrc.entrySet()) {
      mediaSsrcs[i] = e.getKey();
      mediaStreams[i++] = e.getValue();
    }
    ridSsrcs = ssrcByRid.values().stream().mapToLong(Long::longValue).toArray();
  }

  private static int indexOf(long[] a, long v) {
    for (int i = 0; i < a.length; i++) {
      if (a[i] == v) {
        return i;
      }
    }
    return -1;
  }

  /**
   * The allocation-free check of the in-place receive path: true if the received (decrypted) RTP packet
   * {@code buf[off, off+len)} is routed as it is (no RTX stream's, no simulcast SSRC to learn from it), after the
   * bookkeeping {@link #onRtp} does for such a packet; false if the caller must pass a copy to {@link #onRtp} (which
   * then does all of it; nothing was recorded here).
   */
  boolean passesThrough(byte[] buf, int off, int len) {
    if ((byRtxSsrc.isEmpty() && ridExt <= 0) || len < 12) {
      return true;
    }
    long ssrc = ((buf[off + 8] & 0xFFL) << 24) | ((buf[off + 9] & 0xFF) << 16) | ((buf[off + 10] & 0xFF) << 8)
        | (buf[off + 11] & 0xFF);
    if (indexOf(rtxSsrcs, ssrc) >= 0) {
      return false;
    }
    int m = indexOf(mediaSsrcs, ssrc);
    if (m < 0) {
      return ridExt <= 0 || indexOf(ridSsrcs, ssrc) >= 0; // else: a simulcast SSRC onRtp may learn from
    }
    mediaStreams[m].see(((buf[off + 2] & 0xFF) << 8) | (buf[off + 3] & 0xFF));
    return true;
  }

  /**
   * Simulcast uploads (no a=ssrc in the answer): a media packet's RID (RtpStreamId, extension {@code ridExt})
   * names its layer's SSRC, an RTX packet's RepairedRtpStreamId ({@code rridExt}) the layer it repairs; an RTX SSRC
   * is registered once both are known.
   */
  void simulcast(int ridExt, int rridExt, int rtxPayloadType, int mediaPayloadType) {
    this.ridExt = ridExt;
    this.rridExt = rridExt;
    this.rtxPt = rtxPayloadType;
    this.mediaPt = mediaPayloadType;
  }

  /** Learns simulcast SSRCs from a packet of an SSRC not registered yet (only media or RTX payload types). */
  private void learn(byte[] packet, long ssrc) {
    try {
      learnSsrc(packet, ssrc);
    } finally {
      reindex();
    }
  }

  private void learnSsrc(byte[] packet, long ssrc) {
    int pt = packet[1] & 0x7F;
    if (ridExt <= 0 || (pt != mediaPt && pt != rtxPt) || (packet[0] & 0x10) == 0) {
      return;
    }
    RtpHeader h;
    try {
      h = RtpPacket.parse(packet).header();
    } catch (RtpException e) {
      return;
    }
    if (pt == mediaPt) {
      String rid = RtpStreamId.read(h, ridExt);
      if (rid != null && (ssrcByRid.containsKey(rid) || ssrcByRid.size() < MAX_RIDS)) {
        Long old = ssrcByRid.put(rid, ssrc);
        if (old != null && old != ssrc) {
          byMediaSsrc.remove(old);
        }
      }
    } else {
      String rid = RtpStreamId.read(h, rridExt);
      Long media = rid == null ? null : ssrcByRid.get(rid);
      if (media != null) {
        byRtxSsrc.values().removeIf(s -> s.mediaSsrc == media);
        add(ssrc, media, mediaPt);
      }
    }
  }

  /** The packet to route for a received (decrypted) RTP packet, or null to drop it. */
  byte[] onRtp(byte[] packet) {
    if ((byRtxSsrc.isEmpty() && ridExt <= 0) || packet.length < 12) {
      return packet;
    }
    long ssrc = ((packet[8] & 0xFFL) << 24) | ((packet[9] & 0xFF) << 16) | ((packet[10] & 0xFF) << 8)
        | (packet[11] & 0xFF);
    Stream x = byRtxSsrc.get(ssrc);
    if (x == null && ridExt > 0 && !byMediaSsrc.containsKey(ssrc) && !ssrcByRid.containsValue(ssrc)) {
      learn(packet, ssrc);
      x = byRtxSsrc.get(ssrc);
    }
    if (x == null) {
      Stream m = byMediaSsrc.get(ssrc);
      if (m != null) {
        m.see(seqOf(packet));
      }
      return packet;
    }
    byte[] orig;
    try {
      orig = RtxUnwrap.unwrap(packet, x.mediaSsrc, x.payloadType);
    } catch (RtpException e) {
      orig = null;
    }
    if (orig == null) {
      padding++; // a bandwidth probe (or malformed): its job was done by congestion control
      return null;
    }
    if (x.see(seqOf(orig))) {
      duplicates++; // a probe repeating a packet already here
      return null;
    }
    unwrapped++;
    return orig;
  }

  private static int seqOf(byte[] p) {
    return ((p[2] & 0xFF) << 8) | (p[3] & 0xFF);
  }

  void addCounters(Map<String, Long> out) {
    out.merge("media.uplink.rtx_unwrapped", unwrapped, Long::sum);
    out.merge("media.uplink.rtx_padding", padding, Long::sum);
    out.merge("media.uplink.rtx_duplicates", duplicates, Long::sum);
  }
}
