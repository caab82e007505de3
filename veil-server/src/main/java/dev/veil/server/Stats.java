package dev.veil.server;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of the server, written on the event loop and read by {@code GET /health}, {@code GET /metrics}
 * ({@link Metrics}) and the tests.
 */
public final class Stats {
  /** The Micrometer registry behind {@code /metrics} and the held timers the loop records into. */
  final Metrics metrics = new Metrics();
  private final Map<String, LongAdder> counters = new ConcurrentHashMap<>();
  final AtomicInteger channels = new AtomicInteger();
  final AtomicInteger connections = new AtomicInteger();
  final AtomicInteger webSockets = new AtomicInteger();
  /** WebSockets that have not sent connect yet. */
  final AtomicInteger pendingSockets = new AtomicInteger();
  /** Bytes and messages queued to every WebSocket and not yet written. */
  final AtomicLong outboundBytes = new AtomicLong();
  final AtomicLong outboundMessages = new AtomicLong();

  /** Adds one to the counter {@code name}. */
  void inc(String name) {
    add(name, 1);
  }

  void add(String name, long n) {
    counters.computeIfAbsent(name, k -> new LongAdder()).add(n);
  }

  /** The value of a counter (0 if it never counted). */
  public long get(String name) {
    LongAdder a = counters.get(name);
    return a == null ? 0 : a.sum();
  }

  public int channels() {
    return channels.get();
  }

  public int connections() {
    return connections.get();
  }

  /** Open signaling WebSockets, joined or not. */
  public int webSockets() {
    return webSockets.get();
  }

  /** WebSockets that have not sent connect yet. */
  public int pendingSockets() {
    return pendingSockets.get();
  }

  /** Bytes queued to every WebSocket and not yet written to its socket. */
  public long outboundQueuedBytes() {
    return outboundBytes.get();
  }

  /** Messages queued to every WebSocket and not yet written to its socket. */
  public long outboundQueuedMessages() {
    return outboundMessages.get();
  }

  /** Every counter, sorted by name. */
  public Map<String, Long> snapshot() {
    Map<String, Long> out = new LinkedHashMap<>();
    counters.keySet().stream().sorted().forEach(k -> out.put(k, counters.get(k).sum()));
    return out;
  }
}
