package dev.veil.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A supplement to {@link FrameCryptoBenchmark} for a shared, busy machine: it runs the same benchmark methods but
 * measures the benchmark thread's <em>CPU time</em> (not wall time), in interleaved rounds (JCE, SFrame, JFrame,
 * JCE, ...), and reports the median per frame. Time-slicing by other processes then mostly drops out; cache and
 * frequency effects do not. Run:
 * {@code java -cp veil-bench/target/benchmarks.jar dev.veil.bench.CpuTimeComparison [rounds] [msPerRound]}.
 */
public final class CpuTimeComparison {
    private interface Op {
        int run() throws Exception;
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 21;
        long msPerRound = args.length > 1 ? Long.parseLong(args[1]) : 40;
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        System.out.println("size,op,median_cpu_ns_per_frame,p25,p75,ratio_vs_jce_throughput");
        for (int size : new int[] {100, 1200, 60000}) {
            FrameCryptoBenchmark b = new FrameCryptoBenchmark();
            b.size = size;
            b.setup();
            String[][] groups = {{"jceGcmEncrypt", "jceGcmAadEncrypt", "sframeEncrypt", "jframeEncrypt"},
                                 {"jceGcmDecrypt", "jceGcmAadDecrypt", "sframeDecrypt", "jframeDecrypt"}};
            for (String[] group : groups) {
                Op[] ops = new Op[group.length];
                for (int i = 0; i < group.length; i++) {
                    ops[i] = op(b, group[i]);
                }
                // Warm-up: let C2 compile every path.
                for (int w = 0; w < 5; w++) {
                    for (Op op : ops) {
                        timed(mx, op, msPerRound * 3);
                    }
                }
                List<double[]> samples = new ArrayList<>();
                for (int i = 0; i < ops.length; i++) {
                    samples.add(new double[rounds]);
                }
                for (int r = 0; r < rounds; r++) {
                    for (int i = 0; i < ops.length; i++) {
                        samples.get(i)[r] = timed(mx, ops[i], msPerRound);
                    }
                }
                double base = median(samples.get(0));
                for (int i = 0; i < ops.length; i++) {
                    double[] s = samples.get(i).clone();
                    Arrays.sort(s);
                    System.out.printf(Locale.ROOT, "%d,%s,%.0f,%.0f,%.0f,%.0f%%%n", size, group[i], median(s),
                            s[s.length / 4], s[3 * s.length / 4], 100.0 * base / median(s));
                }
            }
        }
    }

    private static Op op(FrameCryptoBenchmark b, String name) {
        switch (name) {
            case "jceGcmEncrypt": return b::jceGcmEncrypt;
            case "sframeEncrypt": return b::sframeEncrypt;
            case "jframeEncrypt": return b::jframeEncrypt;
            case "jceGcmDecrypt": return b::jceGcmDecrypt;
            case "jceGcmAadEncrypt": return b::jceGcmAadEncrypt;
            case "jceGcmAadDecrypt": return b::jceGcmAadDecrypt;
            case "sframeDecrypt": return b::sframeDecrypt;
            case "jframeDecrypt": return b::jframeDecrypt;
            default: throw new IllegalArgumentException(name);
        }
    }

    private static int sink;

    /** Runs {@code op} for about {@code cpuMillis} of thread CPU time; returns CPU ns per call. */
    private static double timed(ThreadMXBean mx, Op op, long cpuMillis) throws Exception {
        long budget = cpuMillis * 1_000_000L;
        long start = mx.getCurrentThreadCpuTime();
        long calls = 0;
        long now;
        do {
            for (int i = 0; i < 64; i++) {
                sink += op.run();
            }
            calls += 64;
            now = mx.getCurrentThreadCpuTime();
        } while (now - start < budget);
        return (double) (now - start) / calls;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
