package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Channels pinned to media lanes: a new channel on the least loaded lane, all its members on the same one. */
class LanePlacementTest {
  @Test
  void newChannelsGoToTheLaneWithFewestConnections_membersFollowTheirChannel() {
    LanePlacement p = new LanePlacement(3);
    assertEquals(0, p.join("a"));
    assertEquals(0, p.join("a")); // a's second member stays with a
    assertEquals(1, p.join("b"));
    assertEquals(2, p.join("c"));
    assertEquals(1, p.join("b"));
    assertEquals(2, p.join("d")); // lanes hold 2, 2, 1 connections: d goes to lane 2
    assertEquals(0, p.join("e")); // 2, 2, 2: a tie, the lowest lane
  }

  @Test
  void tiesGoToTheLowestLane_andAChannelIsForgottenWithItsLastMember() {
    LanePlacement p = new LanePlacement(2);
    assertEquals(0, p.join("a"));
    assertEquals(1, p.join("b"));
    assertEquals(0, p.join("c"));
    assertEquals(3, p.channels());
    p.leave("a");
    p.leave("c"); // lane 0 now empty, lane 1 holds b
    assertEquals(-1, p.laneOf("a"));
    assertEquals(0, p.connections(0));
    assertEquals(1, p.connections(1));
    assertEquals(0, p.join("a")); // a new pin for the same id, on the emptiest lane
    assertEquals(1, p.laneOf("b"));
    p.leave("nobody"); // unknown: ignored
    assertEquals(2, p.channels());
  }

  @Test
  void oneLane_everythingOnIt() {
    LanePlacement p = new LanePlacement(1);
    for (int i = 0; i < 10; i++) {
      assertEquals(0, p.join("ch" + i));
    }
    assertEquals(10, p.connections(0));
    assertThrows(IllegalArgumentException.class, () -> new LanePlacement(0));
  }
}
