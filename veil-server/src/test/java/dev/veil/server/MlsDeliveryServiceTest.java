package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.signaling.Mls;
import dev.veil.signaling.MlsEvent;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The delivery service with a manual clock: founding, key packages, ordering, refusals, refounding, nudges. */
class MlsDeliveryServiceTest {
  private static final String CH = "room";
  private static final String A = "AAAAAAAAAAAAAAAAAAAAAAAAAA";
  private static final String B = "BBBBBBBBBBBBBBBBBBBBBBBBBB";
  private static final String C = "CCCCCCCCCCCCCCCCCCCCCCCCCC";

  private final MlsDeliveryService ds = new MlsDeliveryService();

  /** The server's own external proposals (mls without from) drained so far, kept apart from the relayed traffic. */
  private final List<MlsDeliveryService.Send> proposals = new ArrayList<>();

  private List<MlsDeliveryService.Send> drain() {
    List<MlsDeliveryService.Send> out = new ArrayList<>();
    for (MlsDeliveryService.Send s; (s = ds.pollOutput()) != null; ) {
      if (s.message() instanceof Mls m && m.from() == null) {
        proposals.add(s);
      } else {
        out.add(s);
      }
    }
    return out;
  }

  /** The external proposals drained since the last call: "to:add@epoch" / "to:remove(leaf)@epoch". */
  private List<String> takeProposals() {
    List<String> out = new ArrayList<>();
    for (MlsDeliveryService.Send s : proposals) {
      byte[] p = ((Mls) s.message()).payloadBytes();
      dev.veil.signaling.MlsFraming f = dev.veil.signaling.MlsFraming.parse(p);
      assertEquals(2, f.senderType(), "sender type external");
      assertEquals(dev.veil.signaling.MlsFraming.PROPOSAL, f.contentType());
      int at = 4 + 1 + f.groupId().length + 8 + 5 + 1 + 1; // header, group id, epoch, sender, aad, content type
      int type = (p[at] & 0xFF) << 8 | (p[at + 1] & 0xFF);
      String what = type == 1 ? "add" : "remove(" + p[at + 5] + ")";
      out.add(s.to().substring(0, 1) + ":" + what + "@" + f.epoch());
    }
    proposals.clear();
    return out;
  }

  @Test
  void theServerProposesAddsAndRemovesAsExternalSenderEachEpochUntilSettled() {
    ds.onJoin(CH, A, 0);
    MlsEvent create = (MlsEvent) drain().get(0).message();
    assertArrayEquals(ds.externalSender().externalSender(), create.externalSenderBytes(),
        "create offers the server's external sender");
    byte[] gid = create.groupIdBytes();
    ds.onJoin(CH, B, 1);
    ds.onJoin(CH, C, 1);
    drain();
    assertNull(ds.onMessage(CH, B, msg(keyPackage(1)), 2));
    drain();
    assertEquals(List.of("A:add@0"), takeProposals());
    assertNull(ds.onMessage(CH, C, msg(keyPackage(1)), 3));
    drain();
    assertEquals(List.of("A:add@0"), takeProposals());
    // A commits B only (C's proposal came too late for it) and reports the leaves: C is proposed again at epoch 1
    assertNull(ds.onMessage(CH, A, Mls.commit(handshake(gid, 0, 3, 1), welcome(), List.of(B), List.of(A, B)), 4));
    drain();
    assertEquals(List.of("A:add@1", "B:add@1"), takeProposals());
    assertNull(ds.onMessage(CH, A, Mls.commit(handshake(gid, 1, 3, 2), welcome(), List.of(C), List.of(A, B, C)),
        5));
    drain();
    assertEquals(List.of(), takeProposals(), "nothing left to propose");
    // B leaves: its leaf (1) is proposed for removal now and again in the next epoch until a commit drops it
    ds.onLeave(CH, B, 6);
    drain();
    assertEquals(List.of("A:remove(1)@2", "C:remove(1)@2"), takeProposals());
    assertNull(ds.onMessage(CH, C, Mls.commit(handshake(gid, 2, 3, 3), null, null, List.of(A, B, C)), 7));
    drain();
    assertEquals(List.of("A:remove(1)@3", "C:remove(1)@3"), takeProposals(), "not settled: proposed again");
    assertNull(ds.onMessage(CH, C, Mls.commit(handshake(gid, 3, 3, 4), null, null, List.of(A, "", C)), 8));
    drain();
    assertEquals(List.of(), takeProposals());
    assertEquals(5, ds.externalProposals(), "add B, add C (epoch 0), add C (1), remove B (2), remove B (3)");
  }

  /** The public framing of a PublicMessage (the rest of the message does not matter to the delivery service). */
  static byte[] handshake(byte[] groupId, long epoch, int contentType, int salt) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.write(0);
    b.write(1); // mls10
    b.write(0);
    b.write(1); // public message
    b.write(groupId.length);
    b.writeBytes(groupId);
    for (int i = 7; i >= 0; i--) {
      b.write((int) (epoch >>> (8 * i)));
    }
    b.write(1); // sender: member
    b.writeBytes(new byte[] {0, 0, 0, 2});
    b.write(0); // authenticated_data: empty
    b.write(contentType);
    b.write(salt); // stands in for the rest of the message
    return b.toByteArray();
  }

  static byte[] keyPackage(int suite) {
    return new byte[] {0, 1, 0, 5, 0, 1, (byte) (suite >>> 8), (byte) suite, 42};
  }

  static byte[] welcome() {
    return new byte[] {0, 1, 0, 3, 0, 1, 7};
  }

  private static Mls msg(byte[] b) {
    return Mls.of(b);
  }

  @Test
  void foundingJoiningAndOrderedCommits() {
    ds.onJoin(CH, A, 0);
    List<MlsDeliveryService.Send> out = drain();
    assertEquals(1, out.size());
    MlsEvent create = (MlsEvent) out.get(0).message();
    assertEquals(MlsEvent.CREATE, create.event());
    byte[] gid = create.groupIdBytes();
    assertArrayEquals("room#1".getBytes(StandardCharsets.UTF_8), gid);

    ds.onJoin(CH, B, 10);
    ds.onJoin(CH, C, 10);
    out = drain();
    assertEquals(List.of(new MlsDeliveryService.Send(B, MlsEvent.join(gid)),
        new MlsDeliveryService.Send(C, MlsEvent.join(gid))), out);

    // key packages of B and C reach the only member, A
    assertNull(ds.onMessage(CH, B, msg(keyPackage(1)), 20));
    assertNull(ds.onMessage(CH, C, msg(keyPackage(1)), 21));
    out = drain();
    assertEquals(2, out.size());
    assertEquals(A, out.get(0).to());
    assertEquals(B, ((Mls) out.get(0).message()).from());

    // A commits epoch 0 adding B: everyone in the group (A) gets the commit, B gets the welcome
    byte[] c0 = handshake(gid, 0, 3, 1);
    assertNull(ds.onMessage(CH, A, Mls.commit(c0, welcome(), List.of(B)), 30));
    out = drain();
    assertEquals(A, out.get(0).to());
    assertArrayEquals(c0, ((Mls) out.get(0).message()).payloadBytes());
    assertEquals(B, out.get(1).to());
    assertArrayEquals(welcome(), ((Mls) out.get(1).message()).payloadBytes());
    // the new member learns of C's waiting key package
    assertEquals(B, out.get(2).to());
    assertEquals(C, ((Mls) out.get(2).message()).from());
    assertEquals(3, out.size());
    assertEquals(1, ds.epoch(CH));

    // A and B both commit epoch 1: B's arrives first and wins, A's is refused with a clear reason
    byte[] fromB = handshake(gid, 1, 3, 2);
    byte[] fromA = handshake(gid, 1, 3, 3);
    assertNull(ds.onMessage(CH, B, Mls.commit(fromB, welcome(), List.of(C)), 40));
    assertNull(ds.onMessage(CH, A, msg(fromA), 40));
    out = drain();
    assertEquals(A, out.get(0).to());
    assertEquals(B, out.get(1).to());
    assertArrayEquals(fromB, ((Mls) out.get(0).message()).payloadBytes());
    assertArrayEquals(fromB, ((Mls) out.get(1).message()).payloadBytes());
    assertEquals(C, out.get(2).to());
    MlsEvent refused = (MlsEvent) out.get(3).message();
    assertEquals(A, out.get(3).to());
    assertEquals(MlsEvent.REFUSED, refused.event());
    assertEquals(1, refused.epoch());
    assertEquals("stale epoch 1: epoch 1 already has its commit; the channel is at epoch 2", refused.reason());
    assertEquals(4, out.size());

    // C is a member now: a commit at epoch 2 reaches A, B and C in one order; a future epoch is refused
    byte[] c2 = handshake(gid, 2, 3, 4);
    assertNull(ds.onMessage(CH, C, msg(c2), 50));
    out = drain();
    assertEquals(List.of(A, B, C), out.stream().map(MlsDeliveryService.Send::to).toList());
    assertNull(ds.onMessage(CH, C, msg(handshake(gid, 9, 3, 5)), 50));
    assertEquals("epoch 9 is ahead of the channel's epoch 3", ((MlsEvent) drain().get(0).message()).reason());
    assertEquals(3, ds.acceptedCommits());
  }

  @Test
  void refusalsAndViolations() {
    ds.onJoin(CH, A, 0);
    byte[] gid = ((MlsEvent) drain().get(0).message()).groupIdBytes();
    ds.onJoin(CH, B, 0);
    drain();
    // B is not a member: its commit is refused
    assertNull(ds.onMessage(CH, B, msg(handshake(gid, 0, 3, 1)), 1));
    assertEquals("only group members send proposals and commits", ((MlsEvent) drain().get(0).message()).reason());
    // another group's id
    assertNull(ds.onMessage(CH, A, msg(handshake("x".getBytes(StandardCharsets.UTF_8), 0, 3, 1)), 1));
    assertEquals("group id does not match this channel's group", ((MlsEvent) drain().get(0).message()).reason());
    // application messages are not relayed
    assertNull(ds.onMessage(CH, A, msg(handshake(gid, 0, 1, 1)), 1));
    assertTrue(((MlsEvent) drain().get(0).message()).reason().startsWith("application messages"));
    // a key package of another suite
    assertNull(ds.onMessage(CH, B, msg(keyPackage(2)), 1));
    assertTrue(((MlsEvent) drain().get(0).message()).reason().contains("cipher suite 2"));
    // a lone welcome
    assertNull(ds.onMessage(CH, A, msg(welcome()), 1));
    assertTrue(((MlsEvent) drain().get(0).message()).reason().startsWith("only key packages"));
    // malformed framing is a violation the caller closes on
    assertTrue(ds.onMessage(CH, A, msg(new byte[] {0, 1, 0, 1, (byte) 0xC0}), 1).startsWith("malformed MLS"));
    assertTrue(ds.onMessage(CH, A, msg(new byte[] {0, 2, 0, 1}), 1).contains("version 2"));
    assertTrue(ds.onMessage(CH, A, msg(new byte[] {0, 1, 0, 9}), 1).contains("wire format 9"));
    assertTrue(ds.onMessage("other", A, msg(keyPackage(1)), 1).contains("not in an MLS-mode channel"));
    assertEquals(0, ds.epoch(CH));
  }

  @Test
  void lastMemberLeavingRefoundsTheGroup() {
    ds.onJoin(CH, A, 0);
    byte[] gid1 = ((MlsEvent) drain().get(0).message()).groupIdBytes();
    ds.onJoin(CH, B, 0);
    ds.onJoin(CH, C, 0);
    drain();
    ds.onLeave(CH, A, 5);
    List<MlsDeliveryService.Send> out = drain();
    MlsEvent create = (MlsEvent) out.get(0).message();
    assertEquals(B, out.get(0).to());
    assertEquals(MlsEvent.CREATE, create.event());
    assertArrayEquals("room#2".getBytes(StandardCharsets.UTF_8), create.groupIdBytes());
    assertEquals(new MlsDeliveryService.Send(C, MlsEvent.join(create.groupIdBytes())), out.get(1));
    // a commit of the old group is refused now
    assertNull(ds.onMessage(CH, B, msg(handshake(gid1, 0, 3, 1)), 6));
    assertEquals("group id does not match this channel's group", ((MlsEvent) drain().get(0).message()).reason());
    ds.onLeave(CH, B, 7);
    ds.onLeave(CH, C, 7);
    drain();
    assertEquals(-1, ds.epoch(CH));
  }

  @Test
  void waitingKeyPackagesAreRelayedAgainWhenNoCommitComes() {
    ds.onJoin(CH, A, 0);
    byte[] gid = ((MlsEvent) drain().get(0).message()).groupIdBytes();
    ds.onJoin(CH, B, 0);
    drain();
    assertEquals(Long.MAX_VALUE, ds.nextTimeoutMillis());
    ds.onMessage(CH, B, msg(keyPackage(1)), 1_000);
    assertEquals(1, drain().size());
    assertEquals(1_000 + MlsDeliveryService.NUDGE_MILLIS, ds.nextTimeoutMillis());
    ds.handleTimeout(5_999);
    assertTrue(drain().isEmpty());
    ds.handleTimeout(6_000);
    List<MlsDeliveryService.Send> out = drain();
    assertEquals(1, out.size());
    assertEquals(B, ((Mls) out.get(0).message()).from());
    assertEquals(11_000, ds.nextTimeoutMillis());
    // the commit that adds B ends the wait
    ds.onMessage(CH, A, Mls.commit(handshake(gid, 0, 3, 1), welcome(), List.of(B)), 7_000);
    drain();
    assertEquals(Long.MAX_VALUE, ds.nextTimeoutMillis());
  }
}
