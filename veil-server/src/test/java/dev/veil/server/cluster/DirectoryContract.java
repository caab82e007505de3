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
  void claimIsAtomicAndOnlyTheLeaseHolderRefreshesOrReleases() {
    assertNull(dir().owner("room"));
    Lease a = dir().claim("room", "a", TTL);
    assertEquals(new Lease("a", 1), a);
    assertNull(dir().claim("room", "b", TTL));
    assertEquals("a", dir().owner("room"));
    assertEquals(a, dir().lease("room"));
    assertTrue(dir().refresh("room", a, TTL));
    assertFalse(dir().refresh("room", new Lease("b", 1), TTL));
    assertFalse(dir().refresh("room", new Lease("a", 2), TTL), "the epoch is part of the lease");
    dir().release("room", new Lease("b", 1));
    assertEquals("a", dir().owner("room"));
    dir().release("room", a);
    assertNull(dir().owner("room"));
    Lease b = dir().claim("room", "b", TTL);
    assertEquals(new Lease("b", 2), b, "every claim of a channel gets the next epoch");
    assertEquals("b", dir().owner("room"));
    assertEquals(new Lease("x", 1), dir().claim("other", "x", TTL), "epochs count per channel");
  }

  @Test
  void takeOverOnlyReplacesTheNamedDeadLease() {
    Lease a = dir().claim("room", "a", TTL);
    assertNull(dir().takeOver("room", new Lease("x", 1), "b", TTL), "the lease is a's, not x's");
    assertNull(dir().takeOver("room", new Lease("a", 7), "b", TTL), "nor a's with another epoch");
    assertEquals("a", dir().owner("room"));
    Lease b = dir().takeOver("room", a, "b", TTL);
    assertEquals(new Lease("b", 2), b);
    assertNull(dir().takeOver("room", a, "c", TTL), "a second take-over of the same dead lease loses");
    assertEquals("b", dir().owner("room"));
    assertEquals(new Lease("c", 1), dir().takeOver("gone", a, "c", TTL), "a lease that expired meanwhile is free");
  }

  @Test
  void aFencedOffOwnerCanNeitherRefreshNorReleaseTheNewLease() {
    Lease old = dir().claim("room", "a", TTL);
    Lease now = dir().takeOver("room", old, "b", TTL);
    assertTrue(now.epoch() > old.epoch());
    assertFalse(dir().refresh("room", old, TTL), "a's refresh is fenced off");
    dir().release("room", old);
    assertEquals(now, dir().lease("room"), "a's release does not drop b's lease");
    // the same node owning the channel again gets a new epoch: its old lease stays fenced off
    dir().release("room", now);
    Lease again = dir().claim("room", "a", TTL);
    assertEquals(new Lease("a", 3), again);
    assertFalse(dir().refresh("room", old, TTL));
    assertTrue(dir().refresh("room", again, TTL));
  }

  @Test
  void relayNodesAreRecordedOnlyUnderTheOwnersCurrentLease() {
    Lease a = dir().claim("big", "a", TTL);
    assertEquals(List.of(), dir().relays("big"));
    assertTrue(dir().addRelay("big", a, "c", TTL));
    assertTrue(dir().addRelay("big", a, "b", TTL));
    assertTrue(dir().addRelay("big", a, "b", TTL), "a refresh of b's record");
    assertEquals(List.of("b", "c"), dir().relays("big"));
    assertFalse(dir().addRelay("big", new Lease("a", 9), "d", TTL), "not under another epoch");
    assertFalse(dir().addRelay("other", a, "d", TTL), "not for a channel the lease is not of");
    dir().removeRelay("big", "c");
    assertEquals(List.of("b"), dir().relays("big"));
    Lease b = dir().takeOver("big", a, "b", TTL);
    assertFalse(dir().addRelay("big", a, "c", TTL), "a fenced-off owner adds no relay");
    assertTrue(dir().addRelay("big", b, "c", TTL));
  }
}
