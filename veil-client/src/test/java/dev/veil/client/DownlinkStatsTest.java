package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.hostile.HostileRelay;
import dev.veil.server.ServerConfig;
import dev.veil.server.VeilServer;
import dev.veil.signaling.DownlinkStats;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Java SDK exposes the server's {@code downlink-stats} (docs/PROTOCOL.md §1.2): the last one as {@link
 * Connection#downlinkStats()} and each as {@link Connection.Listener#onDownlinkStats}. The SDK receives audio only,
 * for which the server has no layer or estimate to report, so the message comes through the relay in front of a
 * real server, exactly as the server's codec writes it.
 */
class DownlinkStatsTest {
  private VeilServer server;
  private HostileRelay relay;
  private TestPeer peer;

  @BeforeEach
  void start() throws Exception {
    server = new VeilServer(ServerConfig.defaults().withPorts(0, 0));
    server.start();
    relay = new HostileRelay(server.httpPort());
  }

  @AfterEach
  void stop() throws Exception {
    if (peer != null) {
      peer.close();
    }
    relay.close();
    server.close();
  }

  @Test
  void theLastReportIsExposedAndEachOneIsAnEvent() throws Exception {
    peer = new TestPeer("sub", relay.uri(), "dl-stats", Options.plain());
    CompletableFuture<DownlinkStats> event = new CompletableFuture<>();
    CompletableFuture<Void> joined = new CompletableFuture<>();
    peer.connection.addListener(new Connection.Listener() {
      @Override
      public void onDownlinkStats(DownlinkStats stats) {
        event.complete(stats);
      }

      @Override
      public void onNotify(dev.veil.signaling.Notify n) {
        joined.complete(null);
      }
    });
    // (the media connection need not be up: the report is signaling, handled in any state after the offer; the
    // server's notify follows the client's answer)
    peer.connection.connect();
    joined.get(TestPeer.DEADLINE_MS, TimeUnit.MILLISECONDS);
    assertEquals(1, relay.links.size());
    assertNull(peer.connection.downlinkStats(), "nothing before the first report");
    DownlinkStats sent = new DownlinkStats(1_450_000, List.of(new DownlinkStats.Track("ABC-video", 1, 2, 30, 41, 3)));
    relay.links.get(0).toClient(HostileRelay.JSON.readTree(new dev.veil.signaling.SignalingCodec().encode(sent)));
    DownlinkStats got = event.get(TestPeer.DEADLINE_MS, TimeUnit.MILLISECONDS);
    assertEquals(sent, got);
    assertEquals(sent, peer.connection.downlinkStats());
    DownlinkStats.Track t = got.tracks().get(0);
    assertEquals(1, t.layer());
    assertEquals(30, t.rtxSent());
    assertEquals(41, t.nacksReceived());
    assertEquals(3, t.plisSent());
    assertTrue(peer.disconnects.isEmpty(), "a report is no protocol failure: " + peer.disconnects);
  }
}
