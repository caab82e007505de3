package dev.veil.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Locale;

/**
 * {@link MeterRecordBenchmark}'s three cases ({@code off}, {@code sampled}, {@code every}) in interleaved rounds,
 * reporting the median thread CPU time per datagram: robust to a loaded machine, where JMH's wall-clock figures are
 * noise. The difference {@code sampled − off} is what {@code veil_forwarding_latency_seconds} costs per datagram.
 *
 * <p>Run: {@code java -cp veil-bench/target/benchmarks.jar dev.veil.bench.MeterRecordCpuTime [rounds] [msPerRound]}.
 */
public final class MeterRecordCpuTime {
    private MeterRecordCpuTime() {}

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 31;
        long msPerRound = args.length > 1 ? Long.parseLong(args[1]) : 40;
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        String[] modes = {"off", "sampled", "every"};
        MeterRecordBenchmark[] cases = new MeterRecordBenchmark[modes.length];
        for (int i = 0; i < modes.length; i++) {
            cases[i] = new MeterRecordBenchmark();
            cases[i].timing = modes[i];
            cases[i].work = 50;
            cases[i].setUp();
        }
        for (int w = 0; w < 5; w++) {
            for (MeterRecordBenchmark b : cases) {
                timed(mx, b, msPerRound * 3);
            }
        }
        double[][] samples = new double[cases.length][rounds];
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < cases.length; i++) {
                samples[i][r] = timed(mx, cases[i], msPerRound);
            }
        }
        System.out.println("timing,median_cpu_ns_per_datagram,p25,p75,delta_vs_off_ns");
        double off = 0;
        for (int i = 0; i < cases.length; i++) {
            double[] s = samples[i].clone();
            Arrays.sort(s);
            double med = s[s.length / 2];
            if (i == 0) {
                off = med;
            }
            System.out.printf(Locale.ROOT, "%s,%.1f,%.1f,%.1f,%.1f%n", modes[i], med, s[s.length / 4],
                    s[3 * s.length / 4], med - off);
        }
        for (MeterRecordBenchmark b : cases) {
            b.tearDown();
        }
    }

    /** Runs datagrams for about {@code cpuMillis} of thread CPU time; returns CPU ns per datagram. */
    private static double timed(ThreadMXBean mx, MeterRecordBenchmark b, long cpuMillis) {
        long budget = cpuMillis * 1_000_000L;
        long start = mx.getCurrentThreadCpuTime();
        long calls = 0;
        long sink = 0;
        long now;
        do {
            for (int i = 0; i < 256; i++) {
                sink += b.perDatagram();
            }
            calls += 256;
            now = mx.getCurrentThreadCpuTime();
        } while (now - start < budget);
        if (sink == 42) {
            System.out.print("");
        }
        return (double) (now - start) / calls;
    }
}
