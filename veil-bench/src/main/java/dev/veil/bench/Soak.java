package dev.veil.bench;

import dev.veil.client.Connection;
import dev.veil.client.Options;
import dev.veil.client.VeilClient;
import dev.veil.server.ServerConfig;
import dev.veil.server.VeilServer;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Soak: holds a load on the real SFU in process for a given time (P publishers × S subscribers in one channel, the
 * Java SDK over loopback UDP with ICE, DTLS-SRTP and the Netty loop, as {@link ForwardingLoad}), and every sample
 * interval records the live heap after a full GC ({@code System.gc()}, then {@code MemoryMXBean} heap used), the
 * process's resident set ({@code VmRSS}), the frames offered and received and the server's drop counters. At the end
 * the publishers stop, the subscribers drain, and it reports what was lost: {@code router.rtp_forwarded} against
 * the frames the subscribers received, and the server's send-side drops.
 *
 * <p>Run: {@code java -cp veil-bench/target/benchmarks.jar dev.veil.bench.Soak [publishers=4] [subscribers=20]
 * [seconds=1800] [ppsPerPublisher=50] [frameBytes=1000] [sampleSeconds=30]}. The heap and RSS are of the whole JVM:
 * server and clients. With {@code -Dsoak.url=ws://HOST:PORT/signaling -Dsoak.pid=PID} the clients load an external
 * veil-server process instead (its RSS is sampled from {@code /proc/PID/status}; no heap or counters then): the
 * memory measurement of docs/BENCHMARKS.md.
 */
public final class Soak {
    private Soak() {}

    /** One sample: time since the load started, live heap after GC, RSS, cumulative counts. */
    public record Sample(long seconds, long heapAfterGcBytes, long rssBytes, long offered, long received,
            long forwarded, long sendDropped) {}

    /**
     * The run's outcome.
     *
     * @param offered frames handed to the publishers
     * @param routerReceived RTP packets the router got from the publishers
     * @param routerForwarded RTP packets the router forwarded (received × subscribers if nothing was dropped)
     * @param received frames the subscribers received (after the drain)
     * @param serverDrops the server's send-side and routing drops: {@code udp.send_dropped}, {@code
     *     media.send_dropped}, {@code router.rtp_dropped_before_key_frame}, {@code router.rtp_unknown_ssrc}
     * @param rcvbufErrors the host's UDP receive-buffer overflows in the run ({@code /proc/net/snmp}, all sockets)
     * @param steadyReceived RTP packets the router got after every subscriber had heard every publisher
     * @param steadyForwarded RTP packets the router forwarded after that moment ({@code steadyReceived} × subscribers
     *     if nothing was dropped; before it, a subscriber still renegotiating for a new publisher has no consumer yet)
     */
    public record Result(List<Sample> samples, int subscribers, long offered, long routerReceived,
            long routerForwarded, long received, long serverDrops, long rcvbufErrors, long steadyReceived,
            long steadyForwarded) {

        /** Forwarded packets that no subscriber received. */
        public long lostAfterServer() {
            return routerForwarded - received;
        }
    }

    public static void main(String[] args) throws Exception {
        int publishers = arg(args, 0, 4);
        int subscribers = arg(args, 1, 20);
        int seconds = arg(args, 2, 1800);
        int pps = arg(args, 3, 50);
        int frameBytes = arg(args, 4, 1000);
        int sampleSeconds = arg(args, 5, 30);
        Result r = run(publishers, subscribers, seconds, pps, frameBytes, sampleSeconds, System.out);
        System.exit(r.serverDrops() == 0 && r.lostAfterServer() == 0 ? 0 : 1);
    }

    /** Runs the soak; prints a line per sample and a summary to {@code log}. */
    public static Result run(int publishers, int subscribers, int seconds, int pps, int frameBytes,
            int sampleSeconds, PrintStream log) throws Exception {
        log.printf(Locale.ROOT, "Soak: %d publishers x %d subscribers, %d pps per publisher, %d B frames, %d s, "
                + "sample every %d s%n", publishers, subscribers, pps, frameBytes, seconds, sampleSeconds);
        ServerConfig base = ServerConfig.defaults().withPorts(0, 0);
        if (publishers + subscribers > base.maxConnectionsPerChannel()) {
            base = base.withLimits(Math.max(base.maxConnections(), publishers + subscribers),
                    publishers + subscribers, base.maxChannels());
            base = base.withGuards(base.guards().withPending(Math.max(base.guards().maxPendingSockets(),
                    publishers + subscribers), publishers + subscribers));
        }
        List<Connection> pubs = new ArrayList<>();
        List<Connection> subs = new ArrayList<>();
        AtomicLong received = new AtomicLong();
        List<Set<String>> seen = new ArrayList<>();
        AtomicLong[] sent = new AtomicLong[publishers];
        List<Sample> samples = new ArrayList<>();
        String external = System.getProperty("soak.url");
        long pid = Long.getLong("soak.pid", ProcessHandle.current().pid());
        VeilServer server = external == null ? new VeilServer(base) : null;
        Thread pacer = null;
        try {
            if (server != null) {
                server.start();
            }
            VeilClient client = VeilClient.connection(URI.create(external != null ? external
                    : "ws://127.0.0.1:" + server.httpPort() + "/signaling"));
            List<java.util.function.Supplier<Connection>> makers = new ArrayList<>();
            for (int i = 0; i < subscribers; i++) {
                Set<String> s = ConcurrentHashMap.newKeySet();
                seen.add(s);
                makers.add(() -> client.recvonly("soak", null, Options.plain()).onAudioFrame((sender, frame) -> {
                    received.incrementAndGet();
                    s.add(sender);
                }));
            }
            for (int i = 0; i < publishers; i++) {
                sent[i] = new AtomicLong();
                makers.add(() -> client.sendonly("soak", null, Options.plain()));
            }
            // connect four at a time, each up to three attempts (a loaded host can miss the SDK's 15 s ICE deadline):
            // a soak is about the steady state, not a join storm (ForwardingLoad has that)
            List<Connection> all = new ArrayList<>();
            for (int i = 0; i < makers.size(); i += 4) {
                List<java.util.function.Supplier<Connection>> group = makers.subList(i, Math.min(makers.size(), i + 4));
                for (java.util.function.Supplier<Connection> m : group) {
                    all.add(connectWithRetries(m, log));
                }
            }
            subs.addAll(all.subList(0, subscribers));
            pubs.addAll(all.subList(subscribers, all.size()));
            long[] snmp0 = ForwardingLoad.udpSnmp();
            long start = System.nanoTime();
            pacer = ForwardingLoad.startPacer(pubs, sent, pps, frameBytes);
            while (!ForwardingLoad.allHeardAll(seen, publishers)) {
                if (System.nanoTime() - start > TimeUnit.SECONDS.toNanos(60)) {
                    throw new IllegalStateException("not every subscriber heard every publisher within 60 s");
                }
                Thread.sleep(20);
            }
            // the baseline of the steady state: from here every packet a publisher sends has a consumer per subscriber
            Map<String, Long> c0 = server == null ? Map.of() : server.counters();
            long end = start + TimeUnit.SECONDS.toNanos(seconds);
            long nextSample = start;
            while (true) {
                long now = System.nanoTime();
                if (now >= nextSample) {
                    Sample s = sample(server, pid, TimeUnit.NANOSECONDS.toSeconds(now - start), sent, received);
                    samples.add(s);
                    log.printf(Locale.ROOT, "t=%5d s  heap after GC %6.1f MiB  RSS %6.1f MiB  offered %d  "
                            + "received %d  forwarded %d  send drops %d%n", s.seconds(), s.heapAfterGcBytes() / 1048576.0,
                            s.rssBytes() / 1048576.0, s.offered(), s.received(), s.forwarded(), s.sendDropped());
                    nextSample += TimeUnit.SECONDS.toNanos(sampleSeconds);
                }
                if (now >= end) {
                    break;
                }
                Thread.sleep(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(end - now),
                        TimeUnit.NANOSECONDS.toMillis(nextSample - now))));
            }
            pacer.interrupt();
            pacer.join();
            // drain: until the subscribers' count stops moving (packets in flight, in the clients' loops)
            long last = -1;
            while (received.get() != last) {
                last = received.get();
                Thread.sleep(1_000);
            }
            long[] snmp1 = ForwardingLoad.udpSnmp();
            Map<String, Long> c = server == null ? Map.of() : server.counters();
            long serverDrops = c.getOrDefault("udp.send_dropped", 0L) + c.getOrDefault("media.send_dropped", 0L)
                    + c.getOrDefault("router.rtp_dropped_before_key_frame", 0L)
                    + c.getOrDefault("router.rtp_unknown_ssrc", 0L);
            long offered = 0;
            for (AtomicLong a : sent) {
                offered += a.get();
            }
            Result r = new Result(List.copyOf(samples), subscribers, offered, c.getOrDefault("router.rtp_received", 0L),
                    c.getOrDefault("router.rtp_forwarded", 0L), received.get(), serverDrops,
                    snmp0 == null || snmp1 == null ? -1 : snmp1[0] - snmp0[0],
                    c.getOrDefault("router.rtp_received", 0L) - c0.getOrDefault("router.rtp_received", 0L),
                    c.getOrDefault("router.rtp_forwarded", 0L) - c0.getOrDefault("router.rtp_forwarded", 0L));
            log.printf(Locale.ROOT, "offered %d, router received %d, forwarded %d (x%d = %d expected), subscribers "
                    + "received %d, lost after the server %d, server drops %d, host RcvbufErrors +%d; steady state: router "
                    + "received %d, forwarded %d (x%d = %d expected)%n", r.offered(),
                    r.routerReceived(), r.routerForwarded(), subscribers, r.routerReceived() * subscribers,
                    r.received(), r.lostAfterServer(), r.serverDrops(), r.rcvbufErrors(), r.steadyReceived(),
                    r.steadyForwarded(), subscribers, r.steadyReceived() * subscribers);
            return r;
        } finally {
            if (pacer != null) {
                pacer.interrupt();
            }
            for (Connection cn : subs) {
                cn.close();
            }
            for (Connection cn : pubs) {
                cn.close();
            }
            if (server != null) {
                server.close();
            }
        }
    }

    private static Connection connectWithRetries(java.util.function.Supplier<Connection> make, PrintStream log)
            throws Exception {
        for (int attempt = 1; ; attempt++) {
            Connection c = make.get();
            try {
                return c.connect().get(120, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                c.close();
                if (attempt == 3) {
                    throw e;
                }
                log.println("connect attempt " + attempt + " failed (" + e.getCause() + "), retrying");
            }
        }
    }

    private static Sample sample(VeilServer server, long pid, long seconds, AtomicLong[] sent, AtomicLong received) {
        long heap = -1;
        if (server != null) {
            System.gc();
            heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        }
        long offered = 0;
        for (AtomicLong a : sent) {
            offered += a.get();
        }
        Map<String, Long> c = server == null ? Map.of() : server.counters();
        return new Sample(seconds, heap, rssBytes(pid), offered, received.get(), c.getOrDefault("router.rtp_forwarded", 0L),
                c.getOrDefault("udp.send_dropped", 0L) + c.getOrDefault("media.send_dropped", 0L));
    }

    /** VmRSS of a process, or -1 where /proc is missing. */
    static long rssBytes(long pid) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (l.startsWith("VmRSS:")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (java.io.IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    private static int arg(String[] args, int i, int def) {
        return args.length > i ? Integer.parseInt(args[i]) : def;
    }
}
