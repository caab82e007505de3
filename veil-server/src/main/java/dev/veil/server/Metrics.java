package dev.veil.server;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Renders the server's counters and gauges in the Prometheus text exposition format, version 0.0.4, for
 * {@code GET /metrics}.
 *
 * <pre>
 * # HELP veil_udp_dropped_total UDP datagrams dropped before reaching a peer, by reason.
 * # TYPE veil_udp_dropped_total counter
 * veil_udp_dropped_total{reason="unknown_kind"} 3
 * </pre>
 *
 * <p>Every dotted counter key of {@link Stats} (and the live router/transport counters) becomes a counter whose
 * name ends in {@code _total}. The keys under a known family prefix ({@link #FAMILIES}) carry their last part as a
 * label ({@code udp.dropped.unknown_kind} → {@code veil_udp_dropped_total{reason="unknown_kind"}}); any other key
 * maps to {@code veil_<key with . as _>_total}. Label values are only ever the server's own bounded reason/kind
 * names, never connection ids, channel ids, addresses or key material, so the cardinality stays fixed.
 */
final class Metrics {
  static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  /** A counter family whose keys are {@code prefix + labelValue}. */
  record Family(String prefix, String name, String label, String help) {}

  /** Longest prefix first: the first family whose prefix a key starts with wins. */
  static final List<Family> FAMILIES = List.of(
      new Family("udp.dropped.unknown_source.", "veil_udp_dropped_unknown_source_total", "kind",
          "UDP datagrams dropped because no peer uses their source address, by packet kind."),
      new Family("udp.dropped.", "veil_udp_dropped_total", "reason",
          "UDP datagrams dropped before reaching a peer, by reason."),
      new Family("tcp.closed.", "veil_tcp_closed_total", "reason",
          "ICE-TCP connections the server closed, by reason."),
      new Family("signaling.ice_restart.rejected.", "veil_signaling_ice_restart_rejected_total", "reason",
          "ICE restarts refused, by reason."),
      new Family("signaling.rejected.", "veil_signaling_rejected_total", "reason",
          "Signaling messages rejected, by reason."),
      new Family("signaling.refused.", "veil_signaling_refused_total", "reason",
          "WebSockets and connects refused, by reason."),
      new Family("signaling.closed.", "veil_signaling_closed_total", "reason",
          "Connections the server closed, by reason."),
      new Family("e2ee.rejected.", "veil_e2ee_rejected_total", "reason",
          "E2EE key messages not relayed, by reason."),
      new Family("media.dropped.", "veil_media_dropped_total", "reason",
          "Media packets dropped by the peers' transports, by reason."),
      new Family("media.received.", "veil_media_received_total", "kind",
          "Media packets received by the peers' transports, by kind."),
      new Family("media.srtp_rejected.", "veil_media_srtp_rejected_total", "reason",
          "SRTP packets rejected, by reason."),
      new Family("media.srtcp_rejected.", "veil_media_srtcp_rejected_total", "reason",
          "SRTCP packets rejected, by reason."));

  private Metrics() {}

  /** The gauges the server knows besides its counters. */
  record Gauges(int channels, int connections, int webSockets, long uptimeSeconds, boolean e2ee,
      int pendingSockets, long outboundQueuedBytes, long outboundQueuedMessages, boolean healthy) {
    Gauges(int channels, int connections, int webSockets, long uptimeSeconds, boolean e2ee) {
      this(channels, connections, webSockets, uptimeSeconds, e2ee, 0, 0, 0, true);
    }

    static Gauges of(Stats stats, long uptimeSeconds, boolean e2ee, boolean healthy) {
      return new Gauges(stats.channels(), stats.connections(), stats.webSockets(), uptimeSeconds, e2ee,
          stats.pendingSockets(), stats.outboundQueuedBytes(), stats.outboundQueuedMessages(), healthy);
    }
  }

  /**
   * Keys of the live counter map that are gauges (values now, not totals; e.g. the aggregate of the subscribers'
   * downlink estimates), rendered as {@code veil_<rest>} gauges and never folded into {@link Stats}.
   */
  static final String GAUGE_PREFIX = "gauge.";

  /** One exposition: gauges first, then one counter family per metric name, sorted by name. */
  static String render(Map<String, Long> counters, Gauges g) {
    StringBuilder sb = new StringBuilder(4096);
    gauge(sb, "veil_channels", "Channels with at least one member.", g.channels());
    gauge(sb, "veil_connections", "Connections that have joined a channel.", g.connections());
    gauge(sb, "veil_websockets", "Open signaling WebSockets (joined or not).", g.webSockets());
    gauge(sb, "veil_uptime_seconds", "Seconds since the server started.", g.uptimeSeconds());
    gauge(sb, "veil_e2ee_enabled", "1 if the server accepts end-to-end encrypted channels.", g.e2ee() ? 1 : 0);
    gauge(sb, "veil_pending_websockets", "Open signaling WebSockets that have not sent connect.", g.pendingSockets());
    gauge(sb, "veil_outbound_queued_bytes", "Bytes queued to signaling WebSockets and not yet written.",
        g.outboundQueuedBytes());
    gauge(sb, "veil_outbound_queued_messages", "Messages queued to signaling WebSockets and not yet written.",
        g.outboundQueuedMessages());
    gauge(sb, "veil_healthy", "0 after a fatal error (the server then exits) or while the event loop is stuck.",
        g.healthy() ? 1 : 0);

    for (Map.Entry<String, Long> e : counters.entrySet()) {
      if (e.getKey().startsWith(GAUGE_PREFIX)) {
        String rest = e.getKey().substring(GAUGE_PREFIX.length());
        gauge(sb, "veil_" + sanitize(rest), "Veil gauge " + rest + ".", e.getValue());
      }
    }
    Map<String, Counter> byName = new TreeMap<>();
    for (Map.Entry<String, Long> e : counters.entrySet()) {
      String key = e.getKey();
      if (key.startsWith(GAUGE_PREFIX)) {
        continue;
      }
      Family f = family(key);
      Counter c;
      String labelValue = null;
      if (f != null) {
        c = byName.computeIfAbsent(f.name(), n -> new Counter(n, f.help(), f.label()));
        labelValue = key.substring(f.prefix().length());
      } else {
        String name = "veil_" + sanitize(key) + "_total";
        c = byName.computeIfAbsent(name, n -> new Counter(n, "Veil counter " + key + ".", null));
      }
      c.samples.merge(labelValue == null ? "" : labelValue, e.getValue(), Long::sum);
    }
    for (Counter c : byName.values()) {
      sb.append("# HELP ").append(c.name).append(' ').append(escapeHelp(c.help)).append('\n');
      sb.append("# TYPE ").append(c.name).append(" counter\n");
      for (Map.Entry<String, Long> s : c.samples.entrySet()) {
        sb.append(c.name);
        if (c.label != null) {
          sb.append('{').append(c.label).append("=\"").append(escapeLabelValue(s.getKey())).append("\"}");
        }
        sb.append(' ').append(s.getValue()).append('\n');
      }
    }
    return sb.toString();
  }

  private static final class Counter {
    final String name;
    final String help;
    final String label;
    final Map<String, Long> samples = new TreeMap<>();

    Counter(String name, String help, String label) {
      this.name = name;
      this.help = help;
      this.label = label;
    }
  }

  static Family family(String key) {
    for (Family f : FAMILIES) {
      if (key.startsWith(f.prefix()) && key.length() > f.prefix().length()) {
        return f;
      }
    }
    return null;
  }

  private static void gauge(StringBuilder sb, String name, String help, long value) {
    sb.append("# HELP ").append(name).append(' ').append(help).append('\n');
    sb.append("# TYPE ").append(name).append(" gauge\n");
    sb.append(name).append(' ').append(value).append('\n');
  }

  /** A metric-name part: {@code [a-zA-Z0-9_]}, anything else (dots included) becomes {@code _}. */
  static String sanitize(String key) {
    StringBuilder sb = new StringBuilder(key.length());
    for (int i = 0; i < key.length(); i++) {
      char ch = key.charAt(i);
      boolean ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
      sb.append(ok ? ch : '_');
    }
    return sb.toString();
  }

  /** Label value escaping of the 0.0.4 format: backslash, double quote and line feed. */
  static String escapeLabelValue(String v) {
    return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
  }

  /** HELP escaping of the 0.0.4 format: backslash and line feed. */
  static String escapeHelp(String v) {
    return v.replace("\\", "\\\\").replace("\n", "\\n");
  }
}
