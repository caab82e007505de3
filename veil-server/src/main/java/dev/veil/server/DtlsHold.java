package dev.veil.server;

import java.net.InetSocketAddress;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * DTLS ClientHellos from addresses that have not passed an ICE check yet, held briefly in case the check is just
 * behind them (reordered on the path, or in the same read batch): when an ICE check then validates the address,
 * the held ClientHello is handed to that connection instead of costing the client a 1 s retransmit.
 *
 * <p>Bounded before allocation: at most {@link #MAX_HELD} datagrams and {@link #MAX_BYTES} bytes in all, one per
 * address (a newer one replaces it), each kept {@code holdMillis}. Only a ClientHello (record type handshake,
 * epoch 0, handshake type client_hello) is held: nothing else can start a connection. A held datagram reaches only
 * the connection whose check validated its source address, exactly as if it had arrived after the check, so
 * holding grants a spoofer nothing. Not thread-safe: the event loop's.
 */
final class DtlsHold {
  static final int MAX_HELD = 64;
  static final int MAX_BYTES = 64 * 1024;

  private record Held(byte[] data, long atMillis) {}

  private final long holdMillis;
  private final LinkedHashMap<InetSocketAddress, Held> held = new LinkedHashMap<>();
  private int bytes;
  private long expired;

  /** @param holdMillis how long a ClientHello is kept; 0 disables holding */
  DtlsHold(long holdMillis) {
    this.holdMillis = Math.max(0, holdMillis);
  }

  /** Whether {@code d} is a DTLS 1.x ClientHello record in epoch 0 (RFC 6347 §4.1, §4.2.2). */
  static boolean isClientHello(byte[] d) {
    return d.length > 25 && d[0] == 22 && d[1] == (byte) 0xfe && d[3] == 0 && d[4] == 0 && d[13] == 1;
  }

  /** Holds {@code data} from {@code from}; false if it is not a ClientHello, holding is off or the hold is full. */
  boolean hold(byte[] data, InetSocketAddress from, long nowMillis) {
    if (holdMillis == 0 || !isClientHello(data)) {
      return false;
    }
    expire(nowMillis);
    Held prev = held.remove(from);
    if (prev != null) {
      bytes -= prev.data.length;
    }
    if (held.size() >= MAX_HELD || bytes + data.length > MAX_BYTES) {
      return false;
    }
    held.put(from, new Held(data, nowMillis));
    bytes += data.length;
    return true;
  }

  /** The ClientHello held for {@code from} (removed), or null if none or expired. */
  byte[] take(InetSocketAddress from, long nowMillis) {
    if (held.isEmpty()) {
      return null;
    }
    expire(nowMillis);
    Held h = held.remove(from);
    if (h == null) {
      return null;
    }
    bytes -= h.data.length;
    return h.data;
  }

  private void expire(long nowMillis) {
    for (Iterator<Map.Entry<InetSocketAddress, Held>> it = held.entrySet().iterator(); it.hasNext(); ) {
      Held h = it.next().getValue();
      if (nowMillis - h.atMillis < holdMillis) {
        return; // insertion order is arrival order
      }
      it.remove();
      bytes -= h.data.length;
      expired++;
    }
  }

  int size() {
    return held.size();
  }

  int bytes() {
    return bytes;
  }

  /** ClientHellos dropped because no check validated their address in time. */
  long expired() {
    return expired;
  }
}
