package dev.veil.hostile;

import dev.veil.server.ForwardTamper;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * TEST ONLY: the media half of a hostile server, as a {@link ForwardTamper} with helpers for what the tests do:
 * rewrite payloads or whole packets, record packets and send them again, add packets of streams of its own (each
 * extra packet shifts the sequence numbers of that stream to the subscriber by one, each dropped one back by one, so
 * the hop's SRTP accepts them all and only the E2EE layer can refuse them).
 */
public final class HostileMedia implements ForwardTamper {
  /** What to do with one forwarded packet: return the payloads to send, in order (each becomes one RTP packet). */
  public interface Action {
    List<byte[]> apply(String from, String to, byte[] payload, List<byte[]> recordedFromSender);
  }

  /**
   * What to do with one forwarded packet, whole: return the RTP packets to send in its place, in order (their
   * sequence numbers are rewritten as for {@link Action}; the rest of each header is the action's).
   */
  public interface PacketAction {
    List<byte[]> apply(String from, String to, byte[] rtp);
  }

  /**
   * More packets to send to a subscriber after each forwarded one, as they are (whole RTP packets with their own
   * SSRC and sequence numbers: e.g. on an m-line the hostile signaling added).
   */
  public interface Injector {
    List<byte[]> inject(String from, String to, byte[] rtp);
  }

  /** Frames (and whole packets) recorded per (publisher, subscriber) path, the first ones only. */
  static final int MAX_RECORDED = 2000;

  private final Map<String, Integer> shift = new ConcurrentHashMap<>();
  private final Map<String, List<byte[]>> recorded = new ConcurrentHashMap<>();
  private final Map<String, List<byte[]>> recordedPackets = new ConcurrentHashMap<>();
  private volatile Action action = (from, to, payload, rec) -> List.of(payload);
  private volatile PacketAction packetAction;
  private volatile Injector injector = (from, to, rtp) -> List.of();

  public void act(Action a) {
    this.packetAction = null;
    this.action = a;
  }

  /** From now on every forwarded packet goes through {@code a} (in place of the payload {@link Action}). */
  public void actOnPackets(PacketAction a) {
    this.packetAction = a;
  }

  /** From now on {@code i} adds packets after each forwarded one. */
  public void inject(Injector i) {
    this.injector = i;
  }

  /**
   * The whole RTP packets (as forwarded, before any action) of {@code from}'s tracks to {@code to}, the first
   * {@value #MAX_RECORDED}, in order; a snapshot.
   */
  public List<byte[]> recordedPackets(String from, String to) {
    List<byte[]> rec = recordedPackets.get(from + ">" + to);
    if (rec == null) {
      return List.of();
    }
    synchronized (rec) {
      return new ArrayList<>(rec);
    }
  }

  @Override
  public List<byte[]> forward(String from, String to, byte[] rtp) {
    int off = payloadOffset(rtp);
    byte[] payload = java.util.Arrays.copyOfRange(rtp, off, rtp.length);
    List<byte[]> whole = recordedPackets.computeIfAbsent(from + ">" + to, k -> new ArrayList<>());
    synchronized (whole) {
      if (whole.size() < MAX_RECORDED) {
        whole.add(rtp.clone());
      }
    }
    List<byte[]> rec = recorded.computeIfAbsent(from + ">" + to, k -> new ArrayList<>());
    List<byte[]> packets;
    PacketAction pa = packetAction;
    if (pa != null) {
      packets = pa.apply(from, to, rtp.clone());
    } else {
      packets = new ArrayList<>();
      for (byte[] pl : action.apply(from, to, payload, rec)) {
        byte[] p = new byte[off + pl.length];
        System.arraycopy(rtp, 0, p, 0, off);
        System.arraycopy(pl, 0, p, off, pl.length);
        packets.add(p);
      }
    }
    if (rec.size() < MAX_RECORDED) {
      rec.add(payload);
    }
    // sequence numbers per (subscriber, SSRC): one packet in, n out, the packets after it move by n - 1
    String stream = to + "/" + (((rtp[8] & 0xffL) << 24) | ((rtp[9] & 0xff) << 16) | ((rtp[10] & 0xff) << 8)
        | (rtp[11] & 0xff));
    int base = shift.getOrDefault(stream, 0);
    int seq = ((rtp[2] & 0xff) << 8) | (rtp[3] & 0xff);
    List<byte[]> out = new ArrayList<>();
    for (int i = 0; i < packets.size(); i++) {
      byte[] p = packets.get(i);
      int s = (seq + base + i) & 0xffff;
      p[2] = (byte) (s >>> 8);
      p[3] = (byte) s;
      out.add(p);
    }
    shift.put(stream, base + packets.size() - 1);
    out.addAll(injector.inject(from, to, rtp));
    return out;
  }

  /** RTP header length: 12 + CSRCs + the extension, if any. */
  public static int payloadOffset(byte[] rtp) {
    int off = 12 + 4 * (rtp[0] & 0x0f);
    if ((rtp[0] & 0x10) != 0) {
      off += 4 + 4 * (((rtp[off + 2] & 0xff) << 8) | (rtp[off + 3] & 0xff));
    }
    return off;
  }
}
