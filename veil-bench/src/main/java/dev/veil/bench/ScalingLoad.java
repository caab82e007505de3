package dev.veil.bench;

import dev.veil.server.ServerConfig;
import dev.veil.server.VeilServer;
import dev.veil.webrtc.dtls.DtlsCertificate;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.http.HttpClient;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Multi-loop scaling and join storms on the real SFU in process, over loopback UDP, with lean clients
 * ({@link LoadPeer}: real ICE, DTLS and SRTP from the publishers; subscribers only count datagrams, they do not
 * unprotect them, so the load tool costs far less CPU than the SFU).
 *
 * <p>Scaling: {@code ScalingLoad scale LOOPS CHANNELS PUBS SUBS PPS [BYTES=1000] [SECONDS=10] [WARMUP=3]}: a server
 * with {@code media_loops = LOOPS}, CHANNELS channels of PUBS publishers and SUBS subscribers, every publisher
 * sending PPS packets/s of BYTES; after the warm-up it measures over the window the forwarded packets/s (received
 * at the subscribers), the loss against what the publishers sent × fan-out, and the CPU time of each media loop
 * thread ({@code veil-loop*}), of the DTLS pool, of signaling and of the whole process.
 *
 * <p>Join storm: {@code ScalingLoad storm LOOPS PEERS STORM_SECONDS BG_CHANNELS BG_SUBS BG_PPS [BYTES=1000]}: a
 * background load (BG_CHANNELS channels of one publisher and BG_SUBS subscribers at BG_PPS) flows, then PEERS new
 * peers join within STORM_SECONDS (evenly spaced starts; channels of 10: one publisher at 50 pps and 9
 * subscribers). Reported: {@code udp.send_dropped} and the background loss over the storm (first start to last
 * connect + 1 s), connect times (WebSocket open to DTLS complete) p50/p95/p99, and DTLS handshakes per second per
 * core (handshakes / CPU seconds of the server's {@code veil-dtls-*} threads).
 */
public final class ScalingLoad {
  private static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();

  private final List<LoadPeer> publishers = new ArrayList<>();
  private final List<LoadPeer> subscribers = new ArrayList<>();
  /** Packets sent by each publisher / received by each subscriber (index = position in the lists). */
  private final AtomicLong[] sent = new AtomicLong[4096];
  private final AtomicLong[] received = new AtomicLong[4096];
  private volatile boolean running = true;
  private final Selector selector;
  private final java.util.concurrent.ConcurrentLinkedQueue<LoadPeer> toRegister =
      new java.util.concurrent.ConcurrentLinkedQueue<>();
  /** Publisher index → packets per second (the pacer's). */
  private final long[] pps = new long[4096];
  private final long[] startedAt = new long[4096];
  private volatile int publisherCount;
  /** Packets the pacer skipped because it fell behind, and sends that failed. */
  private final AtomicLong skipped = new AtomicLong();
  private final AtomicLong sendErrors = new AtomicLong();

  private ScalingLoad() throws Exception {
    selector = Selector.open();
    for (int i = 0; i < sent.length; i++) {
      sent[i] = new AtomicLong();
      received[i] = new AtomicLong();
    }
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 1 || !(args[0].equals("scale") || args[0].equals("storm"))) {
      System.err.println("usage: ScalingLoad scale LOOPS CHANNELS PUBS SUBS PPS [BYTES] [SECONDS] [WARMUP]\n"
          + "       ScalingLoad storm LOOPS PEERS STORM_SECONDS BG_CHANNELS BG_SUBS BG_PPS [BYTES]");
      System.exit(2);
    }
    int code = args[0].equals("scale") ? new ScalingLoad().scale(args) : new ScalingLoad().storm(args);
    System.exit(code);
  }

  private static int arg(String[] a, int i, int def) {
    return a.length > i ? Integer.parseInt(a[i]) : def;
  }

  private static VeilServer server(int loops, int maxConnections) throws Exception {
    ServerConfig.Guards g = ServerConfig.Guards.defaults().withMaxConnectionsPerAddress(100_000)
        .withPending(1000, 1000).withSignalingRate(1000, 1000);
    ServerConfig cfg = ServerConfig.defaults().withPorts(0, 0).withMediaLoops(loops).withGuards(g)
        .withLimits(Math.max(1000, maxConnections), 256, 10_000);
    VeilServer s = new VeilServer(cfg);
    s.start();
    return s;
  }

  // ------------------------------------------------------------------------------------------------ scaling

  private int scale(String[] a) throws Exception {
    int loops = arg(a, 1, 1);
    int channels = arg(a, 2, 4);
    int pubs = arg(a, 3, 1);
    int subs = arg(a, 4, 10);
    int rate = arg(a, 5, 1000);
    int bytes = arg(a, 6, 1000);
    int seconds = arg(a, 7, 10);
    int warmup = arg(a, 8, 3);
    System.out.printf(Locale.ROOT, "ScalingLoad scale: %d media loops, %d channels x (%d pub + %d sub), %d pps per "
        + "publisher, %d B, window %d s after %d s warm-up, %d cores%n", loops, channels, pubs, subs, rate, bytes,
        seconds, warmup, Runtime.getRuntime().availableProcessors());
    VeilServer server = server(loops, channels * (pubs + subs));
    HttpClient http = HttpClient.newHttpClient();
    ExecutorService dtlsPool = Executors.newFixedThreadPool(8, daemon("load-dtls"));
    DtlsCertificate cert = DtlsCertificate.generate(new SecureRandom(), System.currentTimeMillis());
    int[][] subIdx = new int[channels][];
    int[][] pubIdx = new int[channels][];
    try {
      startThreads(bytes);
      long seed = 1;
      for (int c = 0; c < channels; c++) {
        pubIdx[c] = new int[pubs];
        subIdx[c] = new int[subs];
        for (int p = 0; p < pubs; p++) {
          LoadPeer peer = new LoadPeer(http, server.httpPort(), server.rtcPort(), "ch" + c, true, cert, seed++);
          peer.connect(dtlsPool, 30_000);
          pubIdx[c][p] = addPublisher(peer, 0);
        }
        for (int s = 0; s < subs; s++) {
          LoadPeer peer = new LoadPeer(http, server.httpPort(), server.rtcPort(), "ch" + c, false, cert, seed++);
          peer.connect(dtlsPool, 30_000);
          subIdx[c][s] = addSubscriber(peer);
        }
      }
      for (int c = 0; c < channels; c++) {
        for (int p : pubIdx[c]) {
          startedAt[p] = System.nanoTime();
          pps[p] = rate;
        }
      }
      Thread.sleep(warmup * 1000L);
      Snapshot s0 = Snapshot.take(server, this);
      Thread.sleep(seconds * 1000L);
      Snapshot s1 = Snapshot.take(server, this);
      long expected = 0;
      long got = 0;
      StringBuilder perChannel = new StringBuilder();
      for (int c = 0; c < channels; c++) {
        long sentC = 0;
        for (int p : pubIdx[c]) {
          sentC += s1.sent[p] - s0.sent[p];
        }
        expected += sentC * subs;
        long gotC = 0;
        for (int s : subIdx[c]) {
          gotC += s1.received[s] - s0.received[s];
        }
        got += gotC;
        perChannel.append(String.format(Locale.ROOT, " ch%d %.1f%%", c,
            sentC == 0 ? 0 : 100.0 * gotC / (sentC * (double) subs)));
      }
      System.out.println("received of expected per channel:" + perChannel);
      report(s0, s1, seconds, expected, got);
      return 0;
    } finally {
      running = false;
      for (LoadPeer p : publishers) {
        p.close();
      }
      for (LoadPeer p : subscribers) {
        p.close();
      }
      server.close();
      dtlsPool.shutdownNow();
    }
  }

  private void report(Snapshot s0, Snapshot s1, int seconds, long expected, long got) {
    double fwdPps = got / (double) seconds;
    double loss = expected == 0 ? 0 : 100.0 * (expected - got) / expected;
    System.out.printf(Locale.ROOT, "offered (sent x fan-out) %,.0f pps; forwarded (received) %,.0f pps; loss %.3f %%"
        + " (pacer skipped %,d, send errors %,d)%n", expected / (double) seconds, fwdPps, loss, skipped.get(),
        sendErrors.get());
    double loopCpu = 0;
    StringBuilder per = new StringBuilder();
    for (Map.Entry<String, Long> e : s1.threadCpu.entrySet()) {
      if (e.getKey().startsWith("veil-loop")) {
        double cpu = (e.getValue() - s0.threadCpu.getOrDefault(e.getKey(), 0L)) / 1e9;
        loopCpu += cpu;
        per.append(String.format(Locale.ROOT, " %s %.0f%%", e.getKey(), 100 * cpu / seconds));
      }
    }
    double proc = (s1.processCpu - s0.processCpu) / 1e9;
    System.out.printf(Locale.ROOT, "media loops CPU %.0f %% of a core in all (%s); process %.0f %% (of %d00 %%)%n",
        100 * loopCpu / seconds, per.toString().trim(), 100 * proc / seconds,
        Runtime.getRuntime().availableProcessors());
    System.out.printf(Locale.ROOT, "media-loop us per forwarded packet %.2f; forwarded pps per media-loop core-s %,.0f%n",
        got == 0 ? 0 : 1e6 * loopCpu / got, loopCpu == 0 ? 0 : got / loopCpu);
    long loopAlloc = 0;
    for (Map.Entry<String, Long> e : s1.threadCpu.entrySet()) {
      if (e.getKey().startsWith("alloc veil-loop")) {
        loopAlloc += e.getValue() - s0.threadCpu.getOrDefault(e.getKey(), 0L);
      }
    }
    long rtpIn = s1.counters.getOrDefault("router.rtp_received", 0L) - s0.counters.getOrDefault("router.rtp_received", 0L);
    long rtpFwd = s1.counters.getOrDefault("router.rtp_forwarded", 0L)
        - s0.counters.getOrDefault("router.rtp_forwarded", 0L);
    System.out.printf(Locale.ROOT, "media-loop bytes allocated: %,d in the window; %.1f B per forwarded packet "
        + "(router.rtp_forwarded), %.0f B per incoming RTP packet%n", loopAlloc,
        rtpFwd == 0 ? 0 : loopAlloc / (double) rtpFwd, rtpIn == 0 ? 0 : loopAlloc / (double) rtpIn);
    System.out.printf(Locale.ROOT, "server counters over the window: %s%n", s1.delta(s0, "router.rtp_received",
        "router.rtp_forwarded", "udp.send_dropped", "udp.handed_off", "udp.handoff_dropped", "udp.datagrams_in")
        + "host Udp RcvbufErrors +" + (s1.rcvbufErrors - s0.rcvbufErrors));
  }

  // ------------------------------------------------------------------------------------------------- storm

  private int storm(String[] a) throws Exception {
    int loops = arg(a, 1, 1);
    int peers = arg(a, 2, 200);
    int stormSeconds = arg(a, 3, 10);
    int bgChannels = arg(a, 4, 4);
    int bgSubs = arg(a, 5, 10);
    int bgPps = arg(a, 6, 1000);
    int bytes = arg(a, 7, 1000);
    System.out.printf(Locale.ROOT, "ScalingLoad storm: %d media loops; background %d channels x (1 pub + %d sub) at %d "
        + "pps (%,d forwarded pps), %d B; %d peers join within %d s (channels of 1 pub at 50 pps + 9 subs); %d cores%n",
        loops, bgChannels, bgSubs, bgPps, bgChannels * bgSubs * bgPps, bytes, peers, stormSeconds,
        Runtime.getRuntime().availableProcessors());
    VeilServer server = server(loops, bgChannels * (1 + bgSubs) + peers);
    HttpClient http = HttpClient.newHttpClient();
    ExecutorService dtlsPool = Executors.newFixedThreadPool(16, daemon("load-dtls"));
    ExecutorService joiners = Executors.newFixedThreadPool(64, daemon("load-join"));
    DtlsCertificate cert = DtlsCertificate.generate(new SecureRandom(), System.currentTimeMillis());
    try {
      startThreads(bytes);
      List<Integer> bgPubs = new ArrayList<>();
      List<int[]> bgSubIdx = new ArrayList<>();
      long seed = 1;
      for (int c = 0; c < bgChannels; c++) {
        LoadPeer pub = new LoadPeer(http, server.httpPort(), server.rtcPort(), "bg" + c, true, cert, seed++);
        pub.connect(dtlsPool, 30_000);
        bgPubs.add(addPublisher(pub, 0));
        int[] subs = new int[bgSubs];
        for (int s = 0; s < bgSubs; s++) {
          LoadPeer sub = new LoadPeer(http, server.httpPort(), server.rtcPort(), "bg" + c, false, cert, seed++);
          sub.connect(dtlsPool, 30_000);
          subs[s] = addSubscriber(sub);
        }
        bgSubIdx.add(subs);
      }
      for (int p : bgPubs) {
        startedAt[p] = System.nanoTime();
        pps[p] = bgPps;
      }
      Thread.sleep(3000); // background warm-up
      Map<String, Long> dtls0 = dtlsCpu();
      Snapshot s0 = Snapshot.take(server, this);
      long t0 = System.nanoTime();
      List<Future<long[]>> joins = new ArrayList<>();
      long spacing = TimeUnit.SECONDS.toNanos(stormSeconds) / Math.max(1, peers);
      for (int i = 0; i < peers; i++) {
        long at = t0 + i * spacing;
        int k = i;
        long sd = seed + i;
        joins.add(joiners.submit(() -> {
          LockSupport.parkNanos(at - System.nanoTime());
          boolean pub = k % 10 == 0;
          LoadPeer p = new LoadPeer(http, server.httpPort(), server.rtcPort(), "storm" + (k / 10), pub, cert, sd);
          p.connect(dtlsPool, 60_000);
          if (pub) {
            int idx = addPublisher(p, 50);
            startedAt[idx] = System.nanoTime();
          } else {
            addSubscriber(p);
          }
          return new long[] {p.connectedNanos - p.startNanos, p.connectedNanos};
        }));
      }
      long[] connect = new long[peers];
      long last = t0;
      int failed = 0;
      for (int i = 0; i < peers; i++) {
        try {
          long[] r = joins.get(i).get(120, TimeUnit.SECONDS);
          connect[i] = r[0];
          last = Math.max(last, r[1]);
        } catch (Exception e) {
          failed++;
          connect[i] = Long.MAX_VALUE;
          System.out.println("join " + i + " failed: " + e.getCause());
        }
      }
      LockSupport.parkNanos(last + TimeUnit.SECONDS.toNanos(1) - System.nanoTime());
      Snapshot s1 = Snapshot.take(server, this);
      Map<String, Long> dtls1 = dtlsCpu();
      double window = (s1.nanos - s0.nanos) / 1e9;
      long expected = 0;
      long got = 0;
      for (int c = 0; c < bgChannels; c++) {
        int p = bgPubs.get(c);
        expected += (s1.sent[p] - s0.sent[p]) * bgSubs;
        for (int s : bgSubIdx.get(c)) {
          got += s1.received[s] - s0.received[s];
        }
      }
      Arrays.sort(connect);
      int ok = peers - failed;
      double dtlsCpu = 0;
      for (Map.Entry<String, Long> e : dtls1.entrySet()) {
        dtlsCpu += (e.getValue() - dtls0.getOrDefault(e.getKey(), 0L)) / 1e9;
      }
      long handshakes = s1.counters.getOrDefault("media.transports_connected", 0L)
          - s0.counters.getOrDefault("media.transports_connected", 0L);
      System.out.printf(Locale.ROOT, "storm: %d of %d joined, all connected %.2f s after the first start; window %.2f s%n",
          ok, peers, (last - t0) / 1e9, window);
      System.out.printf(Locale.ROOT, "connect time (WebSocket open to DTLS complete) p50 %.0f ms, p95 %.0f ms, p99 %.0f ms,"
          + " max %.0f ms%n", pct(connect, ok, 50), pct(connect, ok, 95), pct(connect, ok, 99), pct(connect, ok, 100));
      System.out.printf(Locale.ROOT, "background in the window: expected %,d, received %,d, loss %.3f %%%n", expected, got,
          expected == 0 ? 0 : 100.0 * (expected - got) / expected);
      System.out.printf(Locale.ROOT, "server DTLS: %d handshakes, %.2f CPU s on veil-dtls threads: %.1f ms CPU each, %.0f"
          + " handshakes/s per core%n", handshakes, dtlsCpu, handshakes == 0 ? 0 : 1000 * dtlsCpu / handshakes,
          dtlsCpu == 0 ? 0 : handshakes / dtlsCpu);
      System.out.printf(Locale.ROOT, "server counters over the storm: %s%n", s1.delta(s0, "udp.send_dropped",
          "udp.handoff_dropped", "udp.handed_off", "udp.dtls_held", "udp.dtls_held_delivered",
          "udp.dropped.unknown_source.dtls", "router.rtp_forwarded", "media.transports_connected",
          "media.transports_failed") + "host Udp RcvbufErrors +" + (s1.rcvbufErrors - s0.rcvbufErrors));
      return failed == 0 ? 0 : 1;
    } finally {
      running = false;
      joiners.shutdownNow();
      for (LoadPeer p : publishers) {
        p.close();
      }
      for (LoadPeer p : subscribers) {
        p.close();
      }
      server.close();
      dtlsPool.shutdownNow();
    }
  }

  private static double pct(long[] sorted, int n, int p) {
    if (n == 0) {
      return 0;
    }
    int i = Math.min(n - 1, (int) Math.ceil(p / 100.0 * n) - 1);
    return sorted[Math.max(0, i)] / 1e6;
  }

  private static Map<String, Long> dtlsCpu() {
    Map<String, Long> out = new java.util.TreeMap<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.getName().startsWith("veil-dtls")) {
        long c = MX.getThreadCpuTime(t.getId());
        if (c >= 0) {
          out.put(t.getName() + "#" + t.getId(), c);
        }
      }
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------- client side

  private synchronized int addPublisher(LoadPeer p, long rate) {
    int i = publishers.size();
    publishers.add(p);
    pps[i] = rate;
    publisherCount = publishers.size();
    return i;
  }

  private synchronized int addSubscriber(LoadPeer p) {
    int i = subscribers.size();
    subscribers.add(p);
    toRegister.add(p);
    selector.wakeup();
    return i;
  }

  private synchronized LoadPeer publisher(int i) {
    return publishers.get(i);
  }

  private synchronized List<LoadPeer> all() {
    List<LoadPeer> out = new ArrayList<>(publishers);
    out.addAll(subscribers);
    return out;
  }

  private void startThreads(int bytes) {
    byte[] payload = new byte[bytes];
    new SecureRandom().nextBytes(payload);
    Thread pacer = new Thread(() -> {
      while (running) {
        long now = System.nanoTime();
        int n = publisherCount;
        for (int i = 0; i < n; i++) {
          if (pps[i] == 0 || startedAt[i] == 0) {
            continue;
          }
          long due = (now - startedAt[i]) * pps[i] / 1_000_000_000L;
          LoadPeer p = publisher(i);
          long missed = due - sent[i].get();
          if (missed > pps[i] / 10 + 10) {
            // the pacer fell behind (a starved thread): skip ahead rather than burst, and count what was skipped
            skipped.addAndGet(missed - 1);
            startedAt[i] += (missed - 1) * 1_000_000_000L / pps[i];
          }
          while (sent[i].get() < (now - startedAt[i]) * pps[i] / 1_000_000_000L) {
            try {
              if (!p.sendAudio(payload, now / 1000)) {
                sendErrors.incrementAndGet();
              }
            } catch (Exception e) {
              if (running && sendErrors.getAndIncrement() == 0) {
                System.err.println("publisher send failed: " + e);
              }
            }
            sent[i].incrementAndGet();
          }
        }
        LockSupport.parkNanos(500_000);
      }
    }, "load-pacer");
    pacer.setDaemon(true);
    pacer.start();
    Thread receiver = new Thread(() -> {
      ByteBuffer buf = ByteBuffer.allocateDirect(2048);
      java.util.Map<LoadPeer, Integer> index = new java.util.HashMap<>();
      while (running) {
        try {
          for (LoadPeer p; (p = toRegister.poll()) != null; ) {
            synchronized (this) {
              index.put(p, subscribers.indexOf(p));
            }
            p.udp.register(selector, SelectionKey.OP_READ, p);
          }
          selector.select(100);
          for (SelectionKey k : selector.selectedKeys()) {
            LoadPeer p = (LoadPeer) k.attachment();
            AtomicLong count = received[index.get(p)];
            long n = 0;
            while (true) {
              buf.clear();
              if (p.udp.receive(buf) == null) {
                break;
              }
              int b0 = buf.get(0) & 0xff;
              int pt = buf.get(1) & 0x7f;
              if (buf.position() >= 12 && b0 >= 128 && b0 <= 191 && (pt < 64 || pt > 95)) {
                n++; // RTP (RFC 7983 first byte, not an RTCP packet type)
              }
            }
            count.addAndGet(n);
          }
          selector.selectedKeys().clear();
        } catch (Exception e) {
          if (running) {
            System.err.println("receiver: " + e);
          }
        }
      }
    }, "load-receiver");
    receiver.setDaemon(true);
    receiver.start();
    Thread consent = new Thread(() -> {
      while (running) {
        LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(4));
        for (LoadPeer p : all()) {
          try {
            p.consentCheck();
          } catch (Exception e) {
            // closed at the end
          }
        }
      }
    }, "load-consent");
    consent.setDaemon(true);
    consent.start();
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    AtomicLong n = new AtomicLong();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  /** Counters, per-peer counts and thread CPU at one moment. */
  private record Snapshot(long nanos, Map<String, Long> counters, long[] sent, long[] received,
      Map<String, Long> threadCpu, long processCpu, long rcvbufErrors) {
    static Snapshot take(VeilServer server, ScalingLoad load) {
      long now = System.nanoTime();
      long[] s = new long[load.sent.length];
      long[] r = new long[load.received.length];
      for (int i = 0; i < s.length; i++) {
        s[i] = load.sent[i].get();
        r[i] = load.received[i].get();
      }
      Map<String, Long> cpu = new java.util.TreeMap<>();
      for (Thread t : Thread.getAllStackTraces().keySet()) {
        if (t.getName().startsWith("veil-")) {
          long c = MX.getThreadCpuTime(t.getId());
          if (c >= 0) {
            cpu.merge(t.getName(), c, Long::sum);
          }
          if (MX instanceof com.sun.management.ThreadMXBean hs) {
            long a = hs.getThreadAllocatedBytes(t.getId());
            if (a >= 0) {
              cpu.merge("alloc " + t.getName(), a, Long::sum); // bytes allocated by the thread so far
            }
          }
        }
      }
      long proc = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
          .getProcessCpuTime();
      return new Snapshot(now, server.counters(), s, r, cpu, proc, readRcvbufErrors());
    }

    /** RcvbufErrors of the Udp line of /proc/net/snmp (the whole host), or -1. */
    static long readRcvbufErrors() {
      try {
        List<String> lines = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/net/snmp"));
        for (int i = 0; i + 1 < lines.size(); i++) {
          if (lines.get(i).startsWith("Udp:") && lines.get(i + 1).startsWith("Udp:")) {
            List<String> names = List.of(lines.get(i).trim().split("\\s+"));
            String[] values = lines.get(i + 1).trim().split("\\s+");
            int k = names.indexOf("RcvbufErrors");
            return k < 0 ? -1 : Long.parseLong(values[k]);
          }
        }
      } catch (Exception e) {
        // not Linux
      }
      return -1;
    }

    String delta(Snapshot before, String... keys) {
      StringBuilder b = new StringBuilder();
      for (String k : keys) {
        b.append(k).append(' ').append(String.format(Locale.ROOT, "%,d",
            counters.getOrDefault(k, 0L) - before.counters.getOrDefault(k, 0L))).append("; ");
      }
      return b.toString();
    }
  }
}
