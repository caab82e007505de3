package dev.veil.server;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * The server's dotted counters ({@link Stats} and the live router/transport counters) as Prometheus metric families,
 * collected at scrape time into the Micrometer registry's {@code PrometheusRegistry} ({@link Metrics}); the text is
 * written by the Prometheus client library, not by hand.
 *
 * <p>Every dotted key becomes a counter {@code veil_<key with . as _>_total}; the keys under a known family prefix
 * ({@link #FAMILIES}) carry their last part as a label ({@code udp.dropped.unknown_kind} →
 * {@code veil_udp_dropped_total{reason="unknown_kind"}}). Keys under {@link #GAUGE_PREFIX} are gauges
 * {@code veil_<rest>}. Label values are only ever the server's own bounded reason/kind names, never connection ids,
 * channel ids, addresses or key material, so the cardinality stays fixed.
 */
final class CounterCollector implements MultiCollector {

  /** A counter family whose keys are {@code prefix + labelValue}; {@code name} without the {@code _total}. */
  record Family(String prefix, String name, String label, String help) {}

  /** Longest prefix first: the first family whose prefix a key starts with wins. */
  static final List<Family> FAMILIES = List.of(
      new Family("udp.dropped.unknown_source.", "veil_udp_dropped_unknown_source", "kind",
          "UDP datagrams dropped because no peer uses their source address, by packet kind."),
      new Family("udp.dropped.", "veil_udp_dropped", "reason",
          "UDP datagrams dropped before reaching a peer, by reason."),
      new Family("tcp.closed.", "veil_tcp_closed", "reason",
          "ICE-TCP connections the server closed, by reason."),
      new Family("signaling.ice_restart.rejected.", "veil_signaling_ice_restart_rejected", "reason",
          "ICE restarts refused, by reason."),
      new Family("signaling.rejected.", "veil_signaling_rejected", "reason",
          "Signaling messages rejected, by reason."),
      new Family("signaling.refused.", "veil_signaling_refused", "reason",
          "WebSockets and connects refused, by reason."),
      new Family("signaling.closed.", "veil_signaling_closed", "reason",
          "Connections the server closed, by reason."),
      new Family("e2ee.rejected.", "veil_e2ee_rejected", "reason",
          "E2EE key messages not relayed, by reason."),
      new Family("media.dropped.", "veil_media_dropped", "reason",
          "Media packets dropped by the peers' transports, by reason."),
      new Family("media.received.", "veil_media_received", "kind",
          "Media packets received by the peers' transports, by kind."),
      new Family("media.srtp_rejected.", "veil_media_srtp_rejected", "reason",
          "SRTP packets rejected, by reason."),
      new Family("media.srtcp_rejected.", "veil_media_srtcp_rejected", "reason",
          "SRTCP packets rejected, by reason."));

  /**
   * Keys of the live counter map that are gauges (values now, not totals; e.g. the aggregate of the subscribers'
   * downlink estimates), rendered as {@code veil_<rest>} gauges.
   */
  static final String GAUGE_PREFIX = "gauge.";

  private final Supplier<Map<String, Long>> counters;
  /** Names the registry's own meters use (a family of the same name would break the whole scrape): skipped. */
  private final Supplier<java.util.Set<String>> taken;

  CounterCollector(Supplier<Map<String, Long>> counters, Supplier<java.util.Set<String>> taken) {
    this.counters = counters;
    this.taken = taken;
  }

  @Override
  public MetricSnapshots collect() {
    return snapshots(counters.get(), taken.get());
  }

  /** The metric families of one counter map. */
  static MetricSnapshots snapshots(Map<String, Long> counters) {
    return snapshots(counters, java.util.Set.of());
  }

  /** The metric families of one counter map, without any named in {@code taken}. */
  static MetricSnapshots snapshots(Map<String, Long> counters, java.util.Set<String> taken) {
    Map<String, GaugeSnapshot.Builder> gauges = new TreeMap<>();
    Map<String, Map<String, Long>> samples = new TreeMap<>();
    Map<String, Family> families = new TreeMap<>();
    for (Map.Entry<String, Long> e : counters.entrySet()) {
      String key = e.getKey();
      if (key.startsWith(GAUGE_PREFIX)) {
        String rest = key.substring(GAUGE_PREFIX.length());
        String name = "veil_" + sanitize(rest);
        if (taken.contains(name)) {
          continue;
        }
        gauges.put(name, GaugeSnapshot.builder().name(name).help("Veil gauge " + rest + ".")
            .dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().value(e.getValue()).build()));
        continue;
      }
      Family f = family(key);
      String name;
      String labelValue;
      if (f != null) {
        name = f.name();
        labelValue = key.substring(f.prefix().length());
      } else {
        name = "veil_" + sanitize(key);
        labelValue = "";
        f = new Family(key, name, null, "Veil counter " + key + ".");
      }
      if (taken.contains(name) || gauges.containsKey(name)) {
        continue; // a counter may not share its name with a meter or a gauge
      }
      families.putIfAbsent(name, f);
      samples.computeIfAbsent(name, n -> new TreeMap<>()).merge(labelValue, e.getValue(), Long::sum);
    }
    List<MetricSnapshot> out = new ArrayList<>();
    for (GaugeSnapshot.Builder g : gauges.values()) {
      out.add(g.build());
    }
    for (Map.Entry<String, Map<String, Long>> e : samples.entrySet()) {
      Family f = families.get(e.getKey());
      CounterSnapshot.Builder b = CounterSnapshot.builder().name(e.getKey()).help(f.help());
      for (Map.Entry<String, Long> s : e.getValue().entrySet()) {
        b.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder()
            .labels(f.label() == null ? Labels.EMPTY : Labels.of(f.label(), s.getKey()))
            .value(Math.max(0, s.getValue())).build());
      }
      out.add(b.build());
    }
    return new MetricSnapshots(out);
  }

  static Family family(String key) {
    for (Family f : FAMILIES) {
      if (key.startsWith(f.prefix()) && key.length() > f.prefix().length()) {
        return f;
      }
    }
    return null;
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
}
