package dev.veil.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Locale;
import org.openjdk.jmh.infra.Blackhole;

/**
 * {@link ForwardingBenchmark} measured by the benchmark thread's <em>CPU time</em> instead of wall time (see
 * {@link CpuTimeComparison}): for each media kind, the six (profile, consumers) cases run in interleaved rounds and the
 * median CPU ns per incoming packet is reported, with the per-forwarded-packet cost and the implied forwarded packets
 * per second per core ({@code 1e9 / ns per forwarded packet}). The router's forwarding check runs after each case.
 * Run: {@code java -cp veil-bench/target/benchmarks.jar dev.veil.bench.ForwardingCpuTime [rounds] [msPerRound]}.
 */
public final class ForwardingCpuTime {
    private ForwardingCpuTime() {}

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 21;
        long msPerRound = args.length > 1 ? Long.parseLong(args[1]) : 40;
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        Blackhole bh = new Blackhole(
                "Today's password is swordfish. I understand instantiating Blackholes directly is dangerous.");
        String[] profiles = {"AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80"};
        int[] fanOut = {1, 3, 10};
        System.out.println("media,profile,consumers,median_cpu_ns_per_incoming,p25,p75,ns_per_forwarded,"
                + "forwarded_pps_per_core");
        for (String media : new String[] {"opus", "vp8"}) {
            ForwardingBenchmark[] cases = new ForwardingBenchmark[profiles.length * fanOut.length];
            for (int p = 0; p < profiles.length; p++) {
                for (int n = 0; n < fanOut.length; n++) {
                    ForwardingBenchmark b = new ForwardingBenchmark();
                    b.profile = profiles[p];
                    b.media = media;
                    b.consumers = fanOut[n];
                    b.setup();
                    cases[p * fanOut.length + n] = b;
                }
            }
            for (int w = 0; w < 5; w++) {
                for (ForwardingBenchmark b : cases) {
                    timed(mx, b, bh, msPerRound * 3);
                }
            }
            double[][] samples = new double[cases.length][rounds];
            for (int r = 0; r < rounds; r++) {
                for (int i = 0; i < cases.length; i++) {
                    samples[i][r] = timed(mx, cases[i], bh, msPerRound);
                }
            }
            for (int i = 0; i < cases.length; i++) {
                ForwardingBenchmark b = cases[i];
                b.checkForwarded();
                double[] s = samples[i].clone();
                Arrays.sort(s);
                double med = s[s.length / 2];
                double perForwarded = med / b.consumers;
                System.out.printf(Locale.ROOT, "%s,%s,%d,%.0f,%.0f,%.0f,%.0f,%.0f%n", media, b.profile, b.consumers,
                        med, s[s.length / 4], s[3 * s.length / 4], perForwarded, 1e9 / perForwarded);
            }
        }
        bh.evaporate("Yes, I am Stephen Hawking, and know a thing or two about black holes.");
    }

    /** Forwards packets for about {@code cpuMillis} of thread CPU time; returns CPU ns per incoming packet. */
    private static double timed(ThreadMXBean mx, ForwardingBenchmark b, Blackhole bh, long cpuMillis)
            throws Exception {
        long budget = cpuMillis * 1_000_000L;
        long start = mx.getCurrentThreadCpuTime();
        long calls = 0;
        long now;
        do {
            for (int i = 0; i < 64; i++) {
                b.forward(bh);
            }
            calls += 64;
            now = mx.getCurrentThreadCpuTime();
        } while (now - start < budget);
        return (double) (now - start) / calls;
    }
}
