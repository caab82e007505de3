package dev.veil.bench;

import io.micrometer.core.instrument.Clock;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * What the forwarding-latency histogram adds per datagram on the server's loop ({@code RtcMedia}'s UDP handler):
 * one invocation is one datagram. {@code timing}:
 * <ul>
 *   <li>{@code off}: before — the datagram is handed on ({@link Blackhole#consumeCPU} stands for the work);</li>
 *   <li>{@code sampled}: what the server does — a counter and a mask test per datagram, and for one datagram in 64
 *       two {@code System.nanoTime()} calls and {@code Timer.record} into a held Micrometer timer (Prometheus
 *       registry, 10 fixed buckets, as {@code veil_forwarding_latency_seconds});</li>
 *   <li>{@code every}: the same timer recorded for every datagram (for reference: the unsampled cost).</li>
 * </ul>
 *
 * <p>Run: {@code java -jar veil-bench/target/benchmarks.jar MeterRecordBenchmark -f 1 -wi 3 -i 5 -w 1s -r 1s -prof gc}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class MeterRecordBenchmark {

    @Param({"off", "sampled", "every"})
    public String timing;

    /** Tokens of {@link Blackhole#consumeCPU} standing for the datagram's own work. */
    @Param({"50"})
    public int work;

    private static final int MASK = 63;
    private PrometheusMeterRegistry registry;
    private Timer timer;
    private long seen;
    private long forwarded;
    private int mode;

    @Setup(Level.Trial)
    public void setUp() {
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT, new PrometheusRegistry(), Clock.SYSTEM);
        timer = Timer.builder("veil.forwarding.latency")
            .serviceLevelObjectives(us(5), us(10), us(25), us(50), us(100), us(250), us(500), us(1000), us(2500),
                us(10_000))
            .register(registry);
        mode = switch (timing) {
            case "off" -> 0;
            case "sampled" -> 1;
            case "every" -> 2;
            default -> throw new IllegalArgumentException(timing);
        };
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (timer.count() == 0 && mode != 0) {
            throw new IllegalStateException("nothing recorded");
        }
        registry.close();
    }

    private static Duration us(long v) {
        return Duration.ofNanos(v * 1000);
    }

    private void datagram() {
        Blackhole.consumeCPU(work);
        forwarded++;
    }

    @Benchmark
    public long perDatagram() {
        if (mode == 0) {
            datagram();
        } else if (mode == 1) {
            if ((++seen & MASK) != 0) {
                datagram();
            } else {
                long t0 = System.nanoTime();
                long before = forwarded;
                datagram();
                if (forwarded != before) {
                    timer.record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
                }
            }
        } else {
            long t0 = System.nanoTime();
            datagram();
            timer.record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
        }
        return forwarded;
    }
}
