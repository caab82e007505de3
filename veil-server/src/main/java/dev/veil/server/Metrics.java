package dev.veil.server;

import io.micrometer.core.instrument.Clock;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jetty.JettyConnectionMetrics;
import io.micrometer.core.instrument.binder.jetty.JettyServerThreadPoolMetrics;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmInfoMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.netty4.NettyEventExecutorMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.thread.ThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's meters: one Micrometer {@link PrometheusMeterRegistry} behind {@code GET /metrics} (text format
 * 0.0.4, written by the Prometheus client library).
 *
 * <ul>
 *   <li>the dotted counters of {@link Stats} and the live router/transport counters, collected at scrape time
 *       ({@link CounterCollector}: {@code veil_<key>_total}, a reason or kind as a label);</li>
 *   <li>the server's gauges ({@code veil_channels}, {@code veil_connections}, … registered by {@link VeilServer});</li>
 *   <li>histograms: {@code veil_join_seconds} (a peer's transport opened → first media flowing),
 *       {@code veil_signaling_latency_seconds} (a signaling message read off its socket → handled on the loop),
 *       {@code veil_forwarding_latency_seconds} (a sampled datagram handed to the loop → its last forwarded copy
 *       written, one datagram in {@link #FORWARD_SAMPLE_EVERY}) and {@code veil_loop_lag_seconds} (how late the
 *       loop's heartbeat timer runs);</li>
 *   <li>JVM (memory, GC, threads, class loading, info), process (CPU, uptime, open files), Jetty (thread pool,
 *       connections, requests) and Netty (event loop queue) meters from Micrometer's binders.</li>
 * </ul>
 *
 * <p>The timers are held as fields: the packet path records into a held {@link Timer} (a lock-free, allocation-free
 * bucket increment), never through a name or tag lookup. No label carries a connection id, channel id or address.
 */
final class Metrics implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Metrics.class);
  static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
  /** One datagram in this many is timed for {@code veil_forwarding_latency_seconds} (a power of two). */
  static final int FORWARD_SAMPLE_EVERY = 64;
  static final int FORWARD_SAMPLE_MASK = FORWARD_SAMPLE_EVERY - 1;
  /** Keys of the live counter map that are gauges ({@link CounterCollector#GAUGE_PREFIX}). */
  static final String GAUGE_PREFIX = CounterCollector.GAUGE_PREFIX;

  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT, new PrometheusRegistry(), Clock.SYSTEM);
  /** Connect admitted (transport opened) → first media flowing (first SRTP received or forwarded). */
  final Timer join = Timer.builder("veil.join")
      .description("Time from a member's transport being opened (its connect admitted) to its first media flowing.")
      .serviceLevelObjectives(ms(100), ms(250), ms(500), ms(1000), ms(2000), ms(3000), ms(5000), ms(10_000),
          ms(30_000))
      .register(registry);
  /** A signaling message read off its socket → handled on the loop (queueing on the loop included). */
  final Timer signaling = Timer.builder("veil.signaling.latency")
      .description("Time from a signaling message read off its WebSocket to the end of its handling on the loop.")
      .serviceLevelObjectives(us(100), us(250), us(500), ms(1), us(2500), ms(5), ms(10), ms(25), ms(50), ms(100),
          ms(250), ms(1000))
      .register(registry);
  /** A sampled datagram handed to the loop → its last forwarded copy written. */
  final Timer forwarding = Timer.builder("veil.forwarding.latency")
      .description("Time from a sampled datagram reaching the loop to its last forwarded copy being written "
          + "(1 datagram in " + FORWARD_SAMPLE_EVERY + ").")
      .serviceLevelObjectives(us(5), us(10), us(25), us(50), us(100), us(250), us(500), ms(1), us(2500), ms(10))
      .register(registry);
  /** How late the loop runs its heartbeat timer. */
  final Timer loopLag = Timer.builder("veil.loop.lag")
      .description("How late the event loop runs its heartbeat timer (a busy or stuck loop).")
      .serviceLevelObjectives(ms(1), ms(5), ms(10), ms(50), ms(100), ms(500), ms(1000), ms(5000))
      .register(registry);
  private final List<AutoCloseable> closeables = new ArrayList<>();

  private static Duration ms(long v) {
    return Duration.ofMillis(v);
  }

  private static Duration us(long v) {
    return Duration.ofNanos(v * 1000);
  }

  PrometheusMeterRegistry registry() {
    return registry;
  }

  /** Adds the dotted counters ({@link CounterCollector}), read at each scrape. */
  void bindCounters(Supplier<Map<String, Long>> counters) {
    registry.getPrometheusRegistry().register(new CounterCollector(counters, this::meterNames));
  }

  /** The Prometheus names of the registry's own meters, without a counter's {@code _total}. */
  private java.util.Set<String> meterNames() {
    java.util.Set<String> out = new java.util.HashSet<>();
    for (io.micrometer.core.instrument.Meter m : registry.getMeters()) {
      String n = m.getId().getConventionName(registry.config().namingConvention());
      out.add(n.endsWith("_total") ? n.substring(0, n.length() - "_total".length()) : n);
    }
    return out;
  }

  /** A gauge {@code name} (dotted, Micrometer style: {@code veil.channels} → {@code veil_channels}). */
  <T> void gauge(String name, String help, T obj, ToDoubleFunction<T> f) {
    Gauge.builder(name, obj, f).description(help).strongReference(true).register(registry);
  }

  /** JVM and process meters. */
  void bindJvmAndProcess() {
    new JvmMemoryMetrics().bindTo(registry);
    JvmGcMetrics gc = new JvmGcMetrics();
    gc.bindTo(registry);
    closeables.add(gc);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new JvmInfoMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
  }

  /** Jetty's thread pool and connections (call before the server starts). */
  void bindJetty(Server server, ThreadPool pool) {
    JettyServerThreadPoolMetrics tp = new JettyServerThreadPoolMetrics(pool, Tags.empty());
    tp.bindTo(registry);
    closeables.add(tp);
    JettyConnectionMetrics.addToAllConnectors(server, registry);
  }

  /** The Netty event loop group's pending tasks. */
  void bindNetty(io.netty.channel.EventLoopGroup group) {
    new NettyEventExecutorMetrics(group).bindTo(registry);
  }

  /** The exposition, text format 0.0.4. */
  String scrape() {
    return registry.scrape();
  }

  /** The exposition of {@code counters} alone (tests, tools). */
  static String render(Map<String, Long> counters) {
    try (Metrics m = new Metrics()) {
      m.bindCounters(() -> counters);
      return m.scrape();
    }
  }

  @Override
  public void close() {
    for (AutoCloseable c : closeables) {
      try {
        c.close();
      } catch (Exception e) {
        LOG.debug("closing a meter binder: {}", e.toString());
      }
    }
    closeables.clear();
    registry.close();
  }
}
