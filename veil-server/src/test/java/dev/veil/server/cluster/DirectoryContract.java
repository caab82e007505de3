package dev.veil.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** What every {@link ClusterDirectory} does (the in-memory one and Redis), without waiting for an expiry. */
abstract class DirectoryContract {
  static final long TTL = 60_000;

  abstract ClusterDirectory dir();

  static NodeInfo node(String id, int connections) {
    return new NodeInfo(id, "ws://127.0.0.1:1/" + id, "127.0.0.1:2", connections, 100);
  }

  @Test
  void nodesRegisterWithAddressAndLoadAndDeregister() {
    dir().heartbeat(node("a", 3), TTL);
    dir().heartbeat(node("b", 7), TTL);
    List<NodeInfo> live = dir().liveNodes();
    assertEquals(2, live.size());
    NodeInfo a = live.stream().filter(n -> n.nodeId().equals("a")).findFirst().orElseThrow();
    assertEquals(node("a", 3), a);
    dir().heartbeat(node("a", 9), TTL);
    assertEquals(9, dir().liveNodes().stream().filter(n -> n.nodeId().equals("a")).findFirst().orElseThrow()
        .connections());
    dir().deregister("a");
    assertEquals(List.of("b"), dir().liveNodes().stream().map(NodeInfo::nodeId).toList());
  }

  @Test
  void claimIsAtomicAndOnlyTheOwnerRefreshesOrReleases() {
    assertNull(dir().owner("room"));
    assertTrue(dir().claim("room", "a", TTL));
    assertFalse(dir().claim("room", "b", TTL));
    assertEquals("a", dir().owner("room"));
    assertTrue(dir().refresh("room", "a", TTL));
    assertFalse(dir().refresh("room", "b", TTL));
    dir().release("room", "b");
    assertEquals("a", dir().owner("room"));
    dir().release("room", "a");
    assertNull(dir().owner("room"));
    assertTrue(dir().claim("room", "b", TTL));
    assertEquals("b", dir().owner("room"));
  }

  @Test
  void takeOverOnlyReplacesTheNamedDeadOwner() {
    assertTrue(dir().claim("room", "a", TTL));
    assertFalse(dir().takeOver("room", "x", "b", TTL), "the claim names a, not x");
    assertEquals("a", dir().owner("room"));
    assertTrue(dir().takeOver("room", "a", "b", TTL));
    assertEquals("b", dir().owner("room"));
    assertFalse(dir().takeOver("room", "a", "c", TTL), "a second take-over of the same dead owner loses");
    assertEquals("b", dir().owner("room"));
    assertTrue(dir().takeOver("gone", "a", "c", TTL), "a claim that expired meanwhile is free");
    assertEquals("c", dir().owner("gone"));
  }
}
