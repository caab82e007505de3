package dev.veil.server;

/**
 * Accounting of one WebSocket's outbound queue (sans-IO, on the loop clock): the bytes and messages handed to the
 * transport and not yet written, and when a write last completed. The hub admits every message through {@link
 * #admit} before queueing it and reports every completed (or failed) write to {@link #written}; a queue past its
 * bounds, or whose bytes have not drained for {@code stallNanos}, means a client that does not read.
 */
final class Outbound {
  /** The outcome of {@link #admit}. */
  enum Verdict {
    /** Queued. */
    OK,
    /** Refused: the queue would hold more than its byte bound. */
    TOO_MANY_BYTES,
    /** Refused: the queue would hold more than its message bound. */
    TOO_MANY_MESSAGES,
    /** Refused: queued bytes have not drained for the stall time. */
    STALLED
  }

  private final long maxBytes;
  private final int maxMessages;
  private final long stallNanos;
  private long bytes;
  private int messages;
  /** Loop time of the last write completion, or of the moment the queue went from empty to not empty. */
  private long lastProgressNanos;

  Outbound(long maxBytes, int maxMessages, long stallNanos) {
    this.maxBytes = maxBytes;
    this.maxMessages = maxMessages;
    this.stallNanos = stallNanos;
  }

  /** Counts a message of {@code n} bytes as queued, unless the queue is past a bound or stalled. */
  Verdict admit(int n, long nowNanos) {
    if (stalled(nowNanos)) {
      return Verdict.STALLED;
    }
    if (messages + 1 > maxMessages) {
      return Verdict.TOO_MANY_MESSAGES;
    }
    if (bytes + n > maxBytes) {
      return Verdict.TOO_MANY_BYTES;
    }
    if (messages == 0) {
      lastProgressNanos = nowNanos;
    }
    messages++;
    bytes += n;
    return Verdict.OK;
  }

  /** A queued message of {@code n} bytes was written (or failed and left the queue). */
  void written(int n, long nowNanos) {
    messages = Math.max(0, messages - 1);
    bytes = Math.max(0, bytes - n);
    lastProgressNanos = nowNanos;
  }

  /** True if bytes are queued and no write has completed for the stall time. */
  boolean stalled(long nowNanos) {
    return messages > 0 && nowNanos - lastProgressNanos >= stallNanos;
  }

  long bytes() {
    return bytes;
  }

  int messages() {
    return messages;
  }

  /** Bytes of {@code s} in UTF-8 as {@link String#getBytes} encodes it, without encoding it. */
  static int utf8Length(String s) {
    int n = 0;
    for (int i = 0; i < s.length(); i++) {
      char ch = s.charAt(i);
      if (ch < 0x80) {
        n++;
      } else if (ch < 0x800) {
        n += 2;
      } else if (Character.isHighSurrogate(ch) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        n += 4;
        i++;
      } else if (Character.isSurrogate(ch)) {
        n++; // a lone surrogate is encoded as '?'
      } else {
        n += 3;
      }
    }
    return n;
  }
}
