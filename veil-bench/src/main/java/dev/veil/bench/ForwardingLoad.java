package dev.veil.bench;

import dev.veil.client.Connection;
import dev.veil.client.Options;
import dev.veil.client.VeilClient;
import dev.veil.server.ServerConfig;
import dev.veil.server.VeilServer;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * End-to-end loopback load on the real SFU: a {@link VeilServer} in process (plain, no E2EE), P publishers
 * ({@code sendonly}) and S subscribers ({@code recvonly}) made with the Java SDK in one channel, every publisher
 * sending fixed-size Opus-like frames (one RTP packet each, SRTP over loopback UDP) at a fixed rate. After a warm-up
 * it counts, over a measured window, the frames sent (offered to the SFU) and the frames received at the subscribers
 * (forwarded by the SFU), and the CPU time of the server's event-loop thread {@code veil-loop} (all forwarding work:
 * UDP receive, SRTP unprotect, routing, SRTP protect per subscriber, UDP send), of the server's HTTP/WebSocket
 * threads, of the client threads, and of the whole process.
 *
 * <p>Run: {@code java -cp veil-bench/target/benchmarks.jar dev.veil.bench.ForwardingLoad [publishers]
 * [subscribers] [seconds] [packetsPerSecondPerPublisher] [frameBytes] [warmupSeconds] [lateSubscribers]} (defaults
 * 2 10 10 50 160 3 0). With lateSubscribers &gt; 0, that many subscribers join all at once while media already flows
 * (a join storm in a fresh process) and the server's send-queue counters over the storm are printed.
 *
 * <p>The clients run in the same JVM and on the same cores as the server, so the forwarded rate is a lower bound of
 * what the server alone would do; the loop thread's CPU time is what the server spent, whoever else ran.
 */
public final class ForwardingLoad {
    private ForwardingLoad() {}

    public static void main(String[] args) throws Exception {
        int publishers = arg(args, 0, 2);
        int subscribers = arg(args, 1, 10);
        int seconds = arg(args, 2, 10);
        int pps = arg(args, 3, 50);
        int frameBytes = arg(args, 4, 160);
        int warmupSeconds = arg(args, 5, 3);
        // join storm: this many of the subscribers connect all at once while the publishers already send (the
        // pacer starts as soon as the others are connected, in a fresh process: no warm-up before the storm)
        int late = arg(args, 6, 0);
        if (late < 0 || late >= subscribers + 1) {
            System.err.println("lateSubscribers must be 0.." + subscribers);
            System.exit(2);
            return;
        }
        if (publishers < 1 || subscribers < 1 || seconds < 1 || pps < 1 || frameBytes < 1
                || frameBytes > Connection.MAX_AUDIO_FRAME || warmupSeconds < 0) {
            System.err.println("usage: ForwardingLoad [publishers>=1] [subscribers>=1] [seconds>=1] [pps>=1] "
                    + "[frameBytes 1.." + Connection.MAX_AUDIO_FRAME + "] [warmupSeconds>=0]");
            System.exit(2);
            return;
        }
        System.out.printf(Locale.ROOT, "ForwardingLoad: %d publishers x %d subscribers, %d pps per publisher, "
                + "%d B frames, warm-up %d s, window %d s, %d cores available%n", publishers, subscribers, pps,
                frameBytes, warmupSeconds, seconds, Runtime.getRuntime().availableProcessors());

        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        List<Connection> pubs = new ArrayList<>();
        List<Connection> subs = new ArrayList<>();
        AtomicLong[] received = new AtomicLong[subscribers];
        List<Set<String>> sendersSeen = new ArrayList<>();
        AtomicLong[] sent = new AtomicLong[publishers];
        Thread pacer = null;
        int exit = 0;
        ServerConfig base = ServerConfig.defaults().withPorts(0, 0);
        if (publishers + subscribers > base.maxConnectionsPerChannel()) { // the rig's 4 x 40 is above the default 32
            base = base.withLimits(Math.max(base.maxConnections(), publishers + subscribers),
                    publishers + subscribers, base.maxChannels());
            // every client is on 127.0.0.1: let a join storm of that size open its sockets at once
            base = base.withGuards(base.guards().withPending(Math.max(base.guards().maxPendingSockets(),
                    publishers + subscribers), publishers + subscribers));
        }
        VeilServer server = new VeilServer(base);
        try {
            server.start();
            URI url = URI.create("ws://127.0.0.1:" + server.httpPort() + "/signaling");
            VeilClient client = VeilClient.connection(url);
            String channel = "load";
            for (int i = 0; i < subscribers; i++) {
                AtomicLong n = new AtomicLong();
                Set<String> seen = ConcurrentHashMap.newKeySet();
                received[i] = n;
                sendersSeen.add(seen);
                Connection c = client.recvonly(channel, null, Options.plain()).onAudioFrame((sender, frame) -> {
                    n.incrementAndGet();
                    seen.add(sender);
                });
                subs.add(c);
            }
            for (int i = 0; i < publishers; i++) {
                sent[i] = new AtomicLong();
                pubs.add(client.sendonly(channel, null, Options.plain()));
            }
            List<CompletableFuture<Connection>> connecting = new ArrayList<>();
            subs.subList(0, subscribers - late).forEach(c -> connecting.add(c.connect()));
            pubs.forEach(c -> connecting.add(c.connect()));
            CompletableFuture.allOf(connecting.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
            System.out.println((publishers + subscribers - late) + " connections connected");

            pacer = startPacer(pubs, sent, pps, frameBytes);
            if (late > 0) {
                Thread.sleep(500); // media flows to the early subscribers
                Map<String, Long> before = server.counters();
                long stormStart = System.nanoTime();
                List<CompletableFuture<Connection>> storm = new ArrayList<>();
                subs.subList(subscribers - late, subscribers).forEach(c -> storm.add(c.connect()));
                CompletableFuture.allOf(storm.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
                double stormSeconds = (System.nanoTime() - stormStart) / 1e9;
                while (!allHeardAll(sendersSeen, publishers)) {
                    if (System.nanoTime() - stormStart > TimeUnit.SECONDS.toNanos(60)) {
                        throw new IllegalStateException("the late subscribers did not all hear every publisher");
                    }
                    Thread.sleep(20);
                }
                Thread.sleep(1000);
                Map<String, Long> after = server.counters();
                System.out.printf(Locale.ROOT, "join storm: %d subscribers connected in %.2f s while %d pps flowed; "
                        + "in the storm (+1 s): udp.send_dropped +%d, udp.early_flushes +%d, "
                        + "udp.pending_bytes_max %d, udp.datagrams_out +%d%n", late, stormSeconds, publishers * pps,
                        delta(before, after, "udp.send_dropped"), delta(before, after, "udp.early_flushes"),
                        after.getOrDefault("udp.pending_bytes_max", -1L), delta(before, after, "udp.datagrams_out"));
            }

            // warm-up: at least warmupSeconds, and until every subscriber has heard every publisher
            long warmEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(warmupSeconds);
            long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(warmupSeconds + 30L);
            while (System.nanoTime() < warmEnd || !allHeardAll(sendersSeen, publishers)) {
                if (System.nanoTime() > giveUp) {
                    throw new IllegalStateException("not every subscriber received every publisher within "
                            + (warmupSeconds + 30) + " s");
                }
                Thread.sleep(50);
            }

            long loopId = threadId("veil-loop");
            Map<String, Long> cpu0 = cpuByGroup(mx);
            long loopCpu0 = mx.getThreadCpuTime(loopId);
            long proc0 = processCpuNanos();
            long sent0 = sum(sent);
            long recv0 = sum(received);
            long[] perSub0 = snapshot(received);
            Map<String, Long> counters0 = server.counters();
            long[] snmp0 = udpSnmp();
            long t0 = System.nanoTime();

            Thread.sleep(TimeUnit.SECONDS.toMillis(seconds));

            long t1 = System.nanoTime();
            long[] snmp1 = udpSnmp();
            long sent1 = sum(sent);
            long recv1 = sum(received);
            long[] perSub1 = snapshot(received);
            long loopCpu1 = mx.getThreadCpuTime(loopId);
            long proc1 = processCpuNanos();
            Map<String, Long> cpu1 = cpuByGroup(mx);
            Map<String, Long> counters1 = server.counters();

            double wall = (t1 - t0) / 1e9;
            long offered = sent1 - sent0;
            long forwarded = recv1 - recv0;
            long expected = offered * subscribers;
            double loopCpu = (loopCpu1 - loopCpu0) / 1e9;
            System.out.printf(Locale.ROOT, "window %.3f s%n", wall);
            System.out.printf(Locale.ROOT, "offered into the SFU:  %d packets = %.0f pps (target %d)%n",
                    offered, offered / wall, publishers * pps);
            System.out.printf(Locale.ROOT, "forwarded (received at subscribers): %d packets = %.0f pps "
                    + "(expected %d = offered x %d)%n", forwarded, forwarded / wall, expected, subscribers);
            long atSfu = delta(counters0, counters1, "router.rtp_received");
            long outOfSfu = delta(counters0, counters1, "router.rtp_forwarded");
            System.out.printf(Locale.ROOT, "at the SFU (router.rtp_received): %d = %.0f pps; forwarded by the SFU "
                    + "(router.rtp_forwarded): %d = %.0f pps (expected %d = at the SFU x %d)%n", atSfu, atSfu / wall,
                    outOfSfu, outOfSfu / wall, atSfu * subscribers, subscribers);
            System.out.printf(Locale.ROOT, "where packets went missing: before the SFU (publisher SDK loops behind, "
                    + "or kernel drops) %d; in the SFU %d; after the SFU (kernel, subscriber SDK loops) %d%n",
                    offered - atSfu, atSfu * subscribers - outOfSfu, outOfSfu - forwarded);
            if (snmp0 != null && snmp1 != null) {
                System.out.printf(Locale.ROOT, "kernel UDP (whole host, /proc/net/snmp) in the window: "
                        + "RcvbufErrors +%d, SndbufErrors +%d%n", snmp1[0] - snmp0[0], snmp1[1] - snmp0[1]);
            }
            System.out.printf(Locale.ROOT, "loss: %.3f %% (window edges: frames queued in the publisher SDK "
                    + "loops or in flight when the window opens or closes count as extra or lost)%n",
                    expected == 0 ? 0.0 : 100.0 * (expected - forwarded) / expected);
            long minSub = Long.MAX_VALUE;
            long maxSub = 0;
            for (int i = 0; i < subscribers; i++) {
                long d = perSub1[i] - perSub0[i];
                minSub = Math.min(minSub, d);
                maxSub = Math.max(maxSub, d);
            }
            System.out.printf(Locale.ROOT, "per subscriber received: min %d max %d (expected %d)%n", minSub,
                    maxSub, offered);
            System.out.printf(Locale.ROOT, "CPU over the window (thread CPU time, s; %% of one core):%n");
            System.out.printf(Locale.ROOT, "  server loop thread veil-loop: %.3f (%.1f %%)%n", loopCpu,
                    100 * loopCpu / wall);
            for (String g : cpu1.keySet()) {
                double d = (cpu1.get(g) - cpu0.getOrDefault(g, 0L)) / 1e9;
                System.out.printf(Locale.ROOT, "  threads %-16s %.3f (%.1f %%)%n", g + "*:", d, 100 * d / wall);
            }
            if (proc0 >= 0 && proc1 >= 0) {
                double p = (proc1 - proc0) / 1e9;
                System.out.printf(Locale.ROOT, "  whole process (incl. GC, JIT, clients): %.3f (%.1f %%)%n", p,
                        100 * p / wall);
            }
            System.out.printf(Locale.ROOT, "forwarded pps per core-second of veil-loop: %.0f%n",
                    loopCpu > 0 ? forwarded / loopCpu : Double.NaN);
            System.out.printf(Locale.ROOT, "incoming (at the SFU) pps per core-second of veil-loop: %.0f%n",
                    loopCpu > 0 ? atSfu / loopCpu : Double.NaN);
            System.out.printf(Locale.ROOT, "veil-loop CPU per forwarded packet: %.0f ns%n",
                    forwarded > 0 ? (loopCpu1 - loopCpu0) / (double) forwarded : Double.NaN);
            System.out.println("server counters that changed in the window:");
            for (Map.Entry<String, Long> e : counters1.entrySet()) {
                long d = e.getValue() - counters0.getOrDefault(e.getKey(), 0L);
                if (d != 0) {
                    System.out.printf(Locale.ROOT, "  %s +%d%n", e.getKey(), d);
                }
            }
        } catch (Exception e) {
            System.err.println("ForwardingLoad failed: " + e);
            exit = 1;
        } finally {
            if (pacer != null) {
                pacer.interrupt();
                pacer.join(5000);
            }
            List<CompletableFuture<Void>> closing = new ArrayList<>();
            pubs.forEach(c -> closing.add(c.disconnect()));
            subs.forEach(c -> closing.add(c.disconnect()));
            try {
                CompletableFuture.allOf(closing.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
            } catch (Exception e) {
                System.err.println("not every client closed: " + e);
                exit = 1;
            }
            server.close();
        }
        // threads of Jetty and Netty may still be finishing their shutdown: give them up to 10 s to end
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<String> left = new ArrayList<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.isDaemon() || t == Thread.currentThread() || t.getName().equals("DestroyJavaVM")) {
                continue;
            }
            long waitMs = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
            t.join(waitMs);
            if (t.isAlive()) {
                left.add(t.getName());
                if (System.getProperty("forwardingload.debug") != null) {
                    System.err.println(t.getName() + " " + java.util.Arrays.toString(t.getStackTrace()));
                }
            }
        }
        if (!left.isEmpty()) {
            System.err.println("non-daemon threads still running after close: " + left);
            System.exit(3);
        }
        System.out.println("closed: clients and server stopped, no non-daemon thread left");
        if (exit != 0) {
            System.exit(exit);
        }
    }

    /** One thread sends each publisher's frames at {@code pps}, catching up in bursts if it falls behind. */
    static Thread startPacer(List<Connection> pubs, AtomicLong[] sent, int pps, int frameBytes) {
        Thread t = new Thread(() -> {
            byte[] frame = new byte[frameBytes];
            for (int i = 0; i < frame.length; i++) {
                frame[i] = (byte) (i * 31 + 7);
            }
            long tsStep = Math.max(1, 48_000 / pps);
            long start = System.nanoTime();
            long done = 0;
            while (!Thread.currentThread().isInterrupted()) {
                long due = (System.nanoTime() - start) * pps / 1_000_000_000L;
                for (; done < due; done++) {
                    for (int p = 0; p < pubs.size(); p++) {
                        try {
                            pubs.get(p).sendAudioFrame(frame, done * tsStep);
                            sent[p].incrementAndGet();
                        } catch (IllegalStateException e) {
                            return; // disconnected: the run reports what was sent until then
                        }
                    }
                }
                LockSupport.parkNanos(Math.max(50_000L, 1_000_000_000L / pps / 4));
            }
        }, "load-pacer");
        t.setDaemon(true);
        t.start();
        return t;
    }

    static boolean allHeardAll(List<Set<String>> seen, int publishers) {
        for (Set<String> s : seen) {
            if (s.size() < publishers) {
                return false;
            }
        }
        return true;
    }

    private static long threadId(String name) {
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().equals(name)) {
                return t.getId();
            }
        }
        throw new IllegalStateException("no thread named " + name);
    }

    /** Thread CPU time summed by name prefix: veil-http (server signaling), veil-client (client loops), others. */
    private static Map<String, Long> cpuByGroup(ThreadMXBean mx) {
        Map<String, Long> out = new TreeMap<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            String n = t.getName();
            String g;
            if (n.equals("veil-loop")) {
                continue; // reported on its own
            } else if (n.startsWith("veil-http")) {
                g = "veil-http";
            } else if (n.startsWith("veil-client-ws")) {
                g = "veil-client-ws";
            } else if (n.startsWith("veil-client")) {
                g = "veil-client";
            } else if (n.equals("load-pacer")) {
                g = "load-pacer";
            } else {
                g = "other";
            }
            long c = mx.getThreadCpuTime(t.getId());
            if (c > 0) {
                out.merge(g, c, Long::sum);
            }
        }
        return out;
    }

    private static long processCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return -1;
    }

    /** {RcvbufErrors, SndbufErrors} of the Udp line of /proc/net/snmp, or null where there is none. */
    static long[] udpSnmp() {
        try {
            List<String> lines = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/net/snmp"));
            for (int i = 0; i + 1 < lines.size(); i++) {
                if (lines.get(i).startsWith("Udp:") && lines.get(i + 1).startsWith("Udp:")) {
                    List<String> names = List.of(lines.get(i).trim().split("\\s+"));
                    String[] values = lines.get(i + 1).trim().split("\\s+");
                    int r = names.indexOf("RcvbufErrors");
                    int w = names.indexOf("SndbufErrors");
                    if (r < 0 || w < 0) {
                        return null;
                    }
                    return new long[] {Long.parseLong(values[r]), Long.parseLong(values[w])};
                }
            }
        } catch (Exception e) {
            // not Linux, or not readable: left out of the report
        }
        return null;
    }

    private static long delta(Map<String, Long> before, Map<String, Long> after, String key) {
        return after.getOrDefault(key, 0L) - before.getOrDefault(key, 0L);
    }

    private static long sum(AtomicLong[] a) {
        long s = 0;
        for (AtomicLong x : a) {
            s += x.get();
        }
        return s;
    }

    private static long[] snapshot(AtomicLong[] a) {
        long[] s = new long[a.length];
        for (int i = 0; i < a.length; i++) {
            s[i] = a[i].get();
        }
        return s;
    }

    private static int arg(String[] args, int i, int def) {
        return args.length > i ? Integer.parseInt(args[i]) : def;
    }
}
