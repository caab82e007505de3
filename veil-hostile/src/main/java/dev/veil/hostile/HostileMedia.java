package dev.veil.hostile;

import dev.veil.server.ForwardTamper;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * TEST ONLY: the media half of a hostile server, as a {@link ForwardTamper} with helpers for what the tests do:
 * rewrite payloads, record packets and send them again (each extra packet shifts the subscriber's RTP sequence
 * numbers by one, so the hop's SRTP accepts it and only the E2EE layer can refuse it).
 */
public final class HostileMedia implements ForwardTamper {
  /** What to do with one forwarded packet: return the payloads to send, in order (each becomes one RTP packet). */
  public interface Action {
    List<byte[]> apply(String from, String to, byte[] payload, List<byte[]> recordedFromSender);
  }

  /** Frames recorded per (publisher, subscriber) path, the first ones only. */
  static final int MAX_RECORDED = 2000;

  private final Map<String, Integer> shift = new ConcurrentHashMap<>();
  private final Map<String, List<byte[]>> recorded = new ConcurrentHashMap<>();
  private volatile Action action = (from, to, payload, rec) -> List.of(payload);

  public void act(Action a) {
    this.action = a;
  }

  @Override
  public List<byte[]> forward(String from, String to, byte[] rtp) {
    int off = payloadOffset(rtp);
    byte[] payload = java.util.Arrays.copyOfRange(rtp, off, rtp.length);
    List<byte[]> rec = recorded.computeIfAbsent(from + ">" + to, k -> new ArrayList<>());
    List<byte[]> payloads = action.apply(from, to, payload, rec);
    if (rec.size() < MAX_RECORDED) {
      rec.add(payload);
    }
    int base = shift.getOrDefault(to, 0);
    int seq = ((rtp[2] & 0xff) << 8) | (rtp[3] & 0xff);
    List<byte[]> out = new ArrayList<>();
    for (int i = 0; i < payloads.size(); i++) {
      byte[] p = new byte[off + payloads.get(i).length];
      System.arraycopy(rtp, 0, p, 0, off);
      int s = (seq + base + i) & 0xffff;
      p[2] = (byte) (s >>> 8);
      p[3] = (byte) s;
      System.arraycopy(payloads.get(i), 0, p, off, payloads.get(i).length);
      out.add(p);
    }
    // one packet in, n out: the packets after this one move by n - 1
    shift.put(to, base + payloads.size() - 1);
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
