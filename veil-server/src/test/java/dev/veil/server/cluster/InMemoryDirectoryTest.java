package dev.veil.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The directory contract in memory, plus expiry on the manual clock. */
class InMemoryDirectoryTest extends DirectoryContract {
  long now = 1_000;
  private final InMemoryDirectory dir = new InMemoryDirectory(() -> now);

  @Override
  ClusterDirectory dir() {
    return dir;
  }

  @Test
  void aNodeThatStopsBeatingExpiresAfterItsTtl() {
    dir.heartbeat(node("a", 0), 3000);
    dir.heartbeat(node("b", 0), 3000);
    now += 2000;
    dir.heartbeat(node("b", 0), 3000);
    now += 999;
    assertEquals(2, dir.liveNodes().size());
    now += 1;
    assertEquals(List.of("b"), dir.liveNodes().stream().map(NodeInfo::nodeId).toList());
  }

  @Test
  void aClaimLivesWhileRefreshedAndExpiresWithout() {
    Lease a = dir.claim("room", "a", 10_000);
    for (int i = 0; i < 5; i++) {
      now += 9_000;
      assertTrue(dir.refresh("room", a, 10_000));
    }
    now += 9_999;
    assertEquals("a", dir.owner("room"));
    now += 1;
    assertNull(dir.owner("room"));
  }

  @Test
  void aRelayRecordExpiresAfterItsTtl() {
    Lease a = dir.claim("big", "a", 60_000);
    assertTrue(dir.addRelay("big", a, "b", 5_000));
    now += 4_999;
    assertEquals(List.of("b"), dir.relays("big"));
    now += 1;
    assertEquals(List.of(), dir.relays("big"));
  }
}
