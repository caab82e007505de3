package dev.veil.bench;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.Arrays;
import java.util.Locale;

/**
 * Before/after comparison of {@link ForwardingBenchmark} in <em>one</em> JVM: two builds of {@code benchmarks.jar}
 * (say main's and a branch's) are loaded in two class loaders, and for each case (media, profile, consumers) their
 * forwarding paths run in alternating rounds, measured by the thread's CPU time as in {@link ForwardingCpuTime}.
 * Alternating in one process exposes both builds to the same machine load, which on a shared machine moves much more
 * than the difference being measured. Prints, per case, the median CPU ns per incoming packet of A and B (p25–p75)
 * and B/A. Run: {@code java --add-opens=java.base/com.sun.crypto.provider=ALL-UNNAMED -cp
 * veil-bench/target/benchmarks.jar dev.veil.bench.ForwardingAbComparison A.jar B.jar [rounds] [msPerRound] [pathA]
 * [pathB]} (paths {@code queue} or {@code inplace}, see {@link ForwardingBenchmark#path}; {@code -Dmedia=vp8
 * -Dprofile=AEAD_AES_128_GCM -Dconsumers=10} pick cases).
 */
public final class ForwardingAbComparison {
    private ForwardingAbComparison() {}

    /** One build's benchmark instance and its forward method. */
    private record Side(Object bench, Method forward, Object blackhole, Method check) {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: ForwardingAbComparison A.jar B.jar [rounds] [msPerRound]");
            System.exit(2);
        }
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 21;
        long ms = args.length > 3 ? Long.parseLong(args[3]) : 40;
        ClassLoader a = loader(args[0]);
        ClassLoader b = loader(args[1]);
        String pathA = args.length > 4 ? args[4] : "queue";
        String pathB = args.length > 5 ? args[5] : "queue";
        String[] medias = System.getProperty("media", "opus,vp8").split(",");
        String[] profiles = System.getProperty("profile", "AEAD_AES_128_GCM,AES_CM_128_HMAC_SHA1_80").split(",");
        int[] fanouts = Arrays.stream(System.getProperty("consumers", "1,3,10").split(","))
                .mapToInt(Integer::parseInt).toArray();
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        System.out.println("media,profile,consumers,a_median_ns,a_p25,a_p75,b_median_ns,b_p25,b_p75,b_over_a");
        for (String media : medias) {
            for (String profile : profiles) {
                for (int n : fanouts) {
                    Side sa = side(a, media, profile, n, pathA);
                    Side sb = side(b, media, profile, n, pathB);
                    for (int w = 0; w < 3; w++) {
                        timed(mx, sa, ms * 3);
                        timed(mx, sb, ms * 3);
                    }
                    double[] ra = new double[rounds];
                    double[] rb = new double[rounds];
                    for (int r = 0; r < rounds; r++) {
                        if (r % 2 == 0) {
                            ra[r] = timed(mx, sa, ms);
                            rb[r] = timed(mx, sb, ms);
                        } else {
                            rb[r] = timed(mx, sb, ms);
                            ra[r] = timed(mx, sa, ms);
                        }
                    }
                    sa.check().invoke(sa.bench());
                    sb.check().invoke(sb.bench());
                    Arrays.sort(ra);
                    Arrays.sort(rb);
                    double ma = ra[rounds / 2];
                    double mb = rb[rounds / 2];
                    System.out.printf(Locale.ROOT, "%s,%s,%d,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.3f%n", media, profile, n,
                            ma, ra[rounds / 4], ra[3 * rounds / 4], mb, rb[rounds / 4], rb[3 * rounds / 4], mb / ma);
                }
            }
        }
    }

    private static ClassLoader loader(String jar) throws Exception {
        return new URLClassLoader(new URL[] {new File(jar).toURI().toURL()}, ClassLoader.getPlatformClassLoader());
    }

    private static Side side(ClassLoader l, String media, String profile, int consumers, String path)
            throws Exception {
        Class<?> c = Class.forName("dev.veil.bench.ForwardingBenchmark", true, l);
        Object bench = c.getConstructor().newInstance();
        if (!path.equals("queue")) {
            c.getField("path").set(bench, path); // builds before the in-place path have only the queue
        }
        c.getField("media").set(bench, media);
        c.getField("profile").set(bench, profile);
        c.getField("consumers").setInt(bench, consumers);
        c.getMethod("setup").invoke(bench);
        Class<?> bhClass = Class.forName("org.openjdk.jmh.infra.Blackhole", true, l);
        Object bh = bhClass.getConstructor(String.class).newInstance(
                "Today's password is swordfish. I understand instantiating Blackholes directly is dangerous.");
        return new Side(bench, c.getMethod("forward", bhClass), bh, c.getMethod("checkForwarded"));
    }

    /** Forwards for about {@code cpuMillis} of thread CPU time; returns CPU ns per incoming packet. */
    private static double timed(ThreadMXBean mx, Side s, long cpuMillis) throws Exception {
        long budget = cpuMillis * 1_000_000L;
        long start = mx.getCurrentThreadCpuTime();
        long calls = 0;
        long now;
        do {
            for (int i = 0; i < 64; i++) {
                s.forward().invoke(s.bench(), s.blackhole());
            }
            calls += 64;
            now = mx.getCurrentThreadCpuTime();
        } while (now - start < budget);
        return (double) (now - start) / calls;
    }
}
