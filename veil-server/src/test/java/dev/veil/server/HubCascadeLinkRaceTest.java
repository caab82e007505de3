package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.server.cluster.ChannelBus;
import dev.veil.server.cluster.relay.RelayBudget;
import dev.veil.server.cluster.relay.RelayTransport;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Two cascade nodes that re-create their link sockets at the same moment (docs/PROTOCOL.md §1.9.3, {@code link}):
 * the bus is a queue this test delivers in the racing order (each node's stale address, then its new one), on one
 * manual clock, and every port once bound counts as taken by another socket afterwards (so no socket is ever bound
 * again on its old port). The links must settle: a node's socket is re-created only by its own restart, never
 * because the other node's address changed, so the announcements stop changing and each end points at the other's
 * current socket. (The links are on loopback sockets with different relay secrets on the two nodes, so no session
 * ever comes up: nothing on the transports' threads touches the manual clock, and every tick re-announces.)
 */
class HubCascadeLinkRaceTest {
  private final HubFixture fx = new HubFixture();
  private final Map<String, Map<String, Consumer<ChannelBus.Message>>> subscribers = new HashMap<>();
  private final Deque<Runnable> wire = new ArrayDeque<>();
  private final Set<Integer> taken = new HashSet<>();
  private final Map<String, Integer> binds = new HashMap<>();
  private final List<Hub> hubs = new ArrayList<>();

  @AfterEach
  void closeLinks() {
    hubs.forEach(h -> h.cascade.media().close());
  }

  /** A bus whose deliveries wait in {@link #wire} (in publish order) until the test hands them over. */
  private ChannelBus bus(String node) {
    subscribers.put(node, new HashMap<>());
    return new ChannelBus() {
      @Override
      public void subscribe(String channelId, Consumer<Message> handler) {
        subscribers.get(node).put(channelId, handler);
      }

      @Override
      public void unsubscribe(String channelId) {
        subscribers.get(node).remove(channelId);
      }

      @Override
      public boolean publish(String channelId, long epoch, String body) {
        for (String n : List.copyOf(subscribers.keySet())) {
          if (!n.equals(node)) {
            wire.add(() -> {
              Consumer<Message> h = subscribers.get(n).get(channelId);
              if (h != null) {
                h.accept(new Message(channelId, epoch, node, body));
              }
            });
          }
        }
        return true;
      }

      @Override
      public long dropped() {
        return 0;
      }

      @Override
      public void close() { }
    };
  }

  private Hub hub(String node, byte secretByte) throws Exception {
    Hub hub = fx.hub(ServerConfig.defaults(), new Stats());
    byte[] secret = new byte[32];
    Arrays.fill(secret, secretByte);
    hub.enableCascade(bus(node), node, secret, InetAddress.getLoopbackAddress(), "127.0.0.1",
        (channelId, task) -> task.accept(null, null), RelayBudget.Limits.defaults());
    hub.cascade.media().binder = address -> {
      if (address.getPort() != 0 && taken.contains(address.getPort())) {
        throw new BindException("port " + address.getPort() + " taken meanwhile by another socket");
      }
      var socket = RelayTransport.bind(address);
      taken.add(((InetSocketAddress) socket.getLocalAddress()).getPort());
      binds.merge(node, 1, Integer::sum);
      return socket;
    };
    hubs.add(hub);
    return hub;
  }

  private void join(Hub hub) {
    FakeWs ws = fx.socket();
    Conn c = fx.open(hub, ws);
    List<JsonNode> got = fx.connect(hub, c, ws,
        "{\"type\":\"connect\",\"role\":\"sendrecv\",\"channel_id\":\"room\",\"e2ee\":true}");
    assertEquals("offer", got.get(0).path("type").asText());
  }

  /** Delivers the bus's messages in order (and runs the loop) until none is left; false if it never ends. */
  private boolean settle(int maxDeliveries) {
    fx.clock.runDue();
    for (int i = 0; i < maxDeliveries; i++) {
      Runnable r = wire.poll();
      if (r == null) {
        return true;
      }
      r.run();
      fx.clock.runDue();
    }
    return wire.isEmpty();
  }

  private static CascadeLink link(Hub from, String to) {
    CascadeLink l = from.cascade.media().link("room", to);
    assertNotNull(l, "a link to " + to);
    return l;
  }

  private static void assertLinked(Hub a, Hub b) {
    CascadeLink ab = link(a, "B");
    CascadeLink ba = link(b, "A");
    assertEquals(new InetSocketAddress("127.0.0.1", ba.localPort), ab.peer, "A points at B's current socket");
    assertEquals(new InetSocketAddress("127.0.0.1", ab.localPort), ba.peer, "B points at A's current socket");
    assertEquals(ab.peer, ab.transport.peer(), "A's link runs to it");
    assertEquals(ba.peer, ba.transport.peer(), "B's link runs to it");
  }

  @Test
  void bothNodesRestartingTheirLinksAtOnceConverge() throws Exception {
    Hub a = hub("A", (byte) 1);
    Hub b = hub("B", (byte) 2);
    join(a);
    join(b);
    assertTrue(settle(1000), "the first exchange settles");
    assertLinked(a, b);
    assertEquals(Map.of("A", 1, "B", 1), binds);

    // a tick: both links are not up, so both announce their addresses again (these are the stale ones in flight)
    fx.clock.advanceSeconds(1);
    // ... and at that moment both nodes re-create their link sockets (each on a new port) and announce them
    HubCascadeMedia ma = a.cascade.media();
    HubCascadeMedia mb = b.cascade.media();
    ma.nodeDown("room", "B");
    mb.nodeDown("room", "A");
    ma.nodeUp("room", "B");
    mb.nodeUp("room", "A");
    assertEquals(Map.of("A", 2, "B", 2), binds);

    // each node now hears the other's stale address, then its new one: the links settle with no more sockets
    assertTrue(settle(1000), "the link announcements stop (they chased each other " + binds + ")");
    assertLinked(a, b);
    assertEquals(Map.of("A", 2, "B", 2), binds, "a socket is re-created only by its own node's restart");

    // and stay settled through further ticks (which re-announce the same addresses while no session is up)
    int portA = link(a, "B").localPort;
    int portB = link(b, "A").localPort;
    for (int i = 0; i < 3; i++) {
      fx.clock.advanceSeconds(1);
      assertTrue(settle(1000));
    }
    assertLinked(a, b);
    assertEquals(portA, link(a, "B").localPort);
    assertEquals(portB, link(b, "A").localPort);
    assertEquals(Map.of("A", 2, "B", 2), binds);
  }
}
