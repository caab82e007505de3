package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.server.cluster.RedisServer;
import dev.veil.server.ServerConfig;
import dev.veil.server.VeilServer;
import dev.veil.server.cluster.ClusterConfig;
import dev.veil.signaling.Role;
import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * Measurements for docs/BENCHMARKS.md (not part of the suite: its name does not end in Test; run it with
 * {@code mvn -B -o -q -pl veil-client -am test -Dtest=ClusterTimingsBench -Dsurefire.failIfNoSpecifiedTests=false}).
 * Connect time direct vs via one redirect (Java SDK, plain and E2EE), and fail-over time with the default cluster
 * timings (heartbeat 1 s, node TTL 3 s) and with short ones (200 ms / 1 s).
 */
class ClusterTimingsBench {
  private static final int CONNECTS = Integer.getInteger("bench.connects", 30);
  private static final int FAILOVERS = Integer.getInteger("bench.failovers", 5);

  private static VeilServer node(RedisServer redis, String id, long hb, long ttl, String prefix) throws Exception {
    ClusterConfig cc = ClusterConfig.redis(redis.url(), id, "").withTimings(hb, ttl, Math.max(3 * ttl, 3000))
        .withKeyPrefix(prefix);
    VeilServer s = new VeilServer(ServerConfig.defaults().withPorts(0, 0).withE2ee(true), cc);
    s.start();
    return s;
  }

  private static URI url(VeilServer s) {
    return URI.create("ws://127.0.0.1:" + s.httpPort() + "/signaling");
  }

  private static String stats(long[] ms) {
    long[] s = ms.clone();
    Arrays.sort(s);
    return String.format("median %d ms, p90 %d ms, min %d, max %d (n=%d)", s[s.length / 2],
        s[(int) Math.min(s.length - 1, Math.round(s.length * 0.9))], s[0], s[s.length - 1], s.length);
  }

  @Test
  void connectDirectVersusRedirect() throws Exception {
    try (RedisServer redis = new RedisServer()) {
      VeilServer a = node(redis, "a", 1000, 3000, "c:");
      VeilServer b = node(redis, "b", 1000, 3000, "c:");
      try {
        for (Options opts : List.of(Options.plain(), Options.e2eeSenderKeys())) {
          // the channel lives on a (its first member stays), then members join a directly or b (redirected)
          Connection anchor = VeilClient.connection(url(a)).sendrecv("bench-" + opts.isE2ee(), null, opts);
          anchor.connect().get(20, TimeUnit.SECONDS);
          long[] direct = new long[CONNECTS];
          long[] redirected = new long[CONNECTS];
          for (int i = 0; i < 2 * CONNECTS; i++) {
            boolean viaB = i % 2 == 1; // interleaved, so that load changes hit both alike
            Connection c = VeilClient.connection(url(viaB ? b : a)).recvonly("bench-" + opts.isE2ee(), null, opts);
            long t0 = System.nanoTime();
            c.connect().get(20, TimeUnit.SECONDS);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(viaB ? 1 : 0, c.redirectCount());
            (viaB ? redirected : direct)[i / 2] = ms;
            c.disconnect().get(10, TimeUnit.SECONDS);
          }
          anchor.disconnect().get(10, TimeUnit.SECONDS);
          System.out.printf("BENCH connect %s direct:     %s%n", opts.isE2ee() ? "e2ee " : "plain", stats(direct));
          System.out.printf("BENCH connect %s redirected: %s%n", opts.isE2ee() ? "e2ee " : "plain",
              stats(redirected));
        }
      } finally {
        a.close();
        b.close();
      }
    }
  }

  @Test
  void failoverDefaultAndShortTimings() throws Exception {
    for (long[] t : new long[][] {{1000, 3000}, {200, 1000}}) {
      try (RedisServer redis = new RedisServer()) {
        List<VeilServer> nodes = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
          nodes.add(node(redis, "n" + i, t[0], t[1], "f:"));
        }
        long[] downtime = new long[FAILOVERS];
        int next = 3;
        try {
          for (int k = 0; k < FAILOVERS; k++) {
            List<URI> urls = nodes.stream().map(ClusterTimingsBench::url).toList();
            List<ReconnectingConnection> ms = new ArrayList<>();
            List<long[]> down = new ArrayList<>();
            for (int j = 0; j < 2; j++) {
              long[] d = {-1};
              List<URI> order = new ArrayList<>(urls);
              java.util.Collections.rotate(order, -j);
              ReconnectingConnection m = VeilClient.connection(order)
                  .reconnecting(Role.SENDRECV, "fo-" + k, null, Options.plain());
              m.onReconnect(ev -> {
                if (ev instanceof ReconnectEvent.Reconnected r) {
                  d[0] = r.downtimeMillis();
                }
              });
              m.connect().get(20, TimeUnit.SECONDS);
              ms.add(m);
              down.add(d);
            }
            URI owner = ms.get(0).current().signalingUrl();
            assertEquals(owner, ms.get(1).current().signalingUrl());
            int idx = urls.indexOf(owner);
            long crash = System.nanoTime();
            nodes.get(idx).crashForTesting();
            long deadline = crash + TimeUnit.SECONDS.toNanos(30);
            while ((down.get(0)[0] < 0 || down.get(1)[0] < 0) && System.nanoTime() < deadline) {
              LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
            }
            long all = (System.nanoTime() - crash) / 1_000_000;
            assertTrue(down.get(0)[0] >= 0 && down.get(1)[0] >= 0, "both reconnected");
            downtime[k] = all;
            System.out.printf("BENCH failover hb %d ttl %d: both members connected again after %d ms "
                + "(their downtime %d / %d ms)%n", t[0], t[1], all, down.get(0)[0], down.get(1)[0]);
            for (ReconnectingConnection m : ms) {
              m.close();
            }
            nodes.set(idx, node(redis, "n" + next++, t[0], t[1], "f:")); // a replacement joins
          }
        } finally {
          for (VeilServer s : nodes) {
            s.close();
          }
        }
        System.out.printf("BENCH failover hb %d ms, node ttl %d ms: %s%n", t[0], t[1], stats(downtime));
      }
    }
  }
}
