package dev.veil.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Locale;
import org.openjdk.jmh.infra.Blackhole;

/**
 * {@link StampingBenchmark} measured by the benchmark thread's <em>CPU time</em> (robust to a loaded machine, like
 * {@link ForwardingCpuTime}): for each media kind the three stamping modes run in interleaved rounds and the median
 * CPU ns per sent packet is reported, with the difference to {@code off} (the cost of stamping).
 * Run: {@code java -cp veil-bench/target/benchmarks.jar dev.veil.bench.StampingCpuTime [rounds] [msPerRound]}.
 */
public final class StampingCpuTime {
    private StampingCpuTime() {}

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 31;
        long msPerRound = args.length > 1 ? Long.parseLong(args[1]) : 40;
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        Blackhole bh = new Blackhole(
                "Today's password is swordfish. I understand instantiating Blackholes directly is dangerous.");
        String[] modes = {"off", "inPlace", "add"};
        System.out.println("media,stamp,median_cpu_ns_per_packet,p25,p75,delta_vs_off_ns");
        for (String media : new String[] {"opus", "vp8"}) {
            StampingBenchmark[] cases = new StampingBenchmark[modes.length];
            for (int i = 0; i < modes.length; i++) {
                cases[i] = new StampingBenchmark();
                cases[i].stamp = modes[i];
                cases[i].media = media;
                cases[i].setup();
            }
            for (int w = 0; w < 5; w++) {
                for (StampingBenchmark b : cases) {
                    timed(mx, b, bh, msPerRound * 3);
                }
            }
            double[][] samples = new double[cases.length][rounds];
            for (int r = 0; r < rounds; r++) {
                for (int i = 0; i < cases.length; i++) {
                    samples[i][r] = timed(mx, cases[i], bh, msPerRound);
                }
            }
            double off = 0;
            for (int i = 0; i < cases.length; i++) {
                double[] s = samples[i].clone();
                Arrays.sort(s);
                double med = s[s.length / 2];
                if (i == 0) {
                    off = med;
                }
                System.out.printf(Locale.ROOT, "%s,%s,%.0f,%.0f,%.0f,%.0f%n", media, modes[i], med, s[s.length / 4],
                        s[3 * s.length / 4], med - off);
            }
        }
        bh.evaporate("Yes, I am Stephen Hawking, and know a thing or two about black holes.");
    }

    /** Sends packets for about {@code cpuMillis} of thread CPU time; returns CPU ns per packet. */
    private static double timed(ThreadMXBean mx, StampingBenchmark b, Blackhole bh, long cpuMillis) throws Exception {
        long budget = cpuMillis * 1_000_000L;
        long start = mx.getCurrentThreadCpuTime();
        long calls = 0;
        long now;
        do {
            for (int i = 0; i < 64; i++) {
                bh.consume(b.send());
            }
            calls += 64;
            now = mx.getCurrentThreadCpuTime();
        } while (now - start < budget);
        return (double) (now - start) / calls;
    }
}
