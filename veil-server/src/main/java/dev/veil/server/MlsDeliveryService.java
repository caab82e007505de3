package dev.veil.server;

import dev.veil.signaling.Mls;
import dev.veil.signaling.MlsEvent;
import dev.veil.signaling.MlsFraming;
import dev.veil.signaling.SignalingMessage;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * The server as MLS delivery service for the channels in MLS key mode (docs/PROTOCOL.md §4), sans-IO: every input
 * carries the caller's clock, outputs are drained with {@link #pollOutput()}, {@link #nextTimeoutMillis()} says when
 * to call {@link #handleTimeout}. It never holds a group secret: it reads only the public framing of each message
 * ({@link MlsFraming}: wire format, group id, epoch, content type) and relays the bytes unchanged.
 *
 * <p>Per channel it keeps the group id, the epoch the next commit must carry, which connections are in the group,
 * and each waiting connection's latest key package. Rules:
 * <ul>
 *   <li>The first connection of a channel founds the group ({@code mls_event create} with the group id); every
 *       later one is told to {@code join} and publishes a key package, which goes to every group member.</li>
 *   <li>Handshake messages are ordered per channel: a commit for the current epoch is accepted (the first to arrive
 *       wins the epoch), the epoch advances, and every group member, the committer included, receives it in the
 *       same order; its Welcome goes only to the connections in {@code welcome_to}, which then count as members.
 *       A commit or proposal for any other epoch is refused with a reason naming both epochs.</li>
 *   <li>If the last group member leaves, the group is gone: the oldest remaining connection founds a new one
 *       (new group id), the others are told to join it.</li>
 *   <li>If key packages wait and no commit was accepted for {@link #NUDGE_MILLIS}, they are relayed again to every
 *       member (a committer may have left without its commit).</li>
 *   <li>As MLS external sender ({@link MlsExternalSender}, docs/PROTOCOL.md §4.8) it proposes, at the current epoch,
 *       the Add of every waiting key package and the Remove of every departed member's leaf (from the {@code leaves}
 *       the last accepted commit reported), again in each new epoch until a commit settles them. It signs these
 *       from public data with its own key; members check them against the membership announced to them.</li>
 * </ul>
 * Not thread-safe: the {@link Hub} calls it on its loop.
 */
final class MlsDeliveryService {
  /** How long key packages may wait for a commit before they are relayed again. */
  static final long NUDGE_MILLIS = 5_000;

  /** One message for one connection. */
  record Send(String to, SignalingMessage message) {
  }

  private static final class Group {
    final String channelId;
    int generation;
    byte[] groupId;
    long epoch;
    final Set<String> connections = new LinkedHashSet<>();
    final Set<String> members = new LinkedHashSet<>();
    final Map<String, String> waitingKeyPackages = new LinkedHashMap<>();
    long nudgeAt = Long.MAX_VALUE;
    /** Connection id per leaf index of the current epoch as the last accepted commit reported it ("" blank). */
    List<String> leaves = List.of();
    /** Connections that left while {@link #leaves} still names them: their Remove is proposed each epoch. */
    final Set<String> departed = new LinkedHashSet<>();
    /** Connections the server proposed to add or remove in the current epoch (one proposal each per epoch). */
    final Set<String> proposed = new HashSet<>();

    Group(String channelId) {
      this.channelId = channelId;
    }
  }

  private final Map<String, Group> groups = new HashMap<>();
  private final MlsExternalSender externalSender;
  private long proposals;
  private final ArrayDeque<Send> out = new ArrayDeque<>();
  private long accepted;
  private long refused;

  MlsDeliveryService() {
    this(new MlsExternalSender(new SecureRandom()));
  }

  /** With the server's external-sender key (docs/PROTOCOL.md §4.8). */
  MlsDeliveryService(MlsExternalSender externalSender) {
    this.externalSender = externalSender;
  }

  /** {@code cid} became active in MLS-mode channel {@code channelId}. */
  void onJoin(String channelId, String cid, long nowMillis) {
    Group g = groups.computeIfAbsent(channelId, Group::new);
    g.connections.add(cid);
    if (g.members.isEmpty()) {
      found(g, cid);
    } else {
      out.add(new Send(cid, MlsEvent.join(g.groupId)));
    }
  }

  /** {@code cid} left (or was closed). */
  void onLeave(String channelId, String cid, long nowMillis) {
    Group g = groups.get(channelId);
    if (g == null || !g.connections.remove(cid)) {
      return;
    }
    g.waitingKeyPackages.remove(cid);
    boolean wasMember = g.members.remove(cid);
    if (g.connections.isEmpty()) {
      groups.remove(channelId);
      return;
    }
    if (wasMember && !g.members.isEmpty() && g.leaves.contains(cid)) {
      g.departed.add(cid);
      proposeRemove(g, cid);
    }
    if (wasMember && g.members.isEmpty()) {
      // the group is gone with its last member: refound it among the connections still here
      g.waitingKeyPackages.clear();
      g.nudgeAt = Long.MAX_VALUE;
      String founder = g.connections.iterator().next();
      found(g, founder);
      for (String c : g.connections) {
        if (!c.equals(founder)) {
          out.add(new Send(c, MlsEvent.join(g.groupId)));
        }
      }
    }
  }

  private void found(Group g, String founder) {
    g.generation++;
    g.groupId = (g.channelId + "#" + g.generation).getBytes(StandardCharsets.UTF_8);
    g.epoch = 0;
    g.members.clear();
    g.members.add(founder);
    g.leaves = List.of(founder);
    g.departed.clear();
    g.proposed.clear();
    out.add(new Send(founder, MlsEvent.create(g.groupId, externalSender.externalSender())));
  }

  /**
   * A client's {@code mls} message. Returns null if it was handled (relayed, or refused with an {@code mls_event
   * refused} to the sender), or a protocol-violation reason (malformed framing) for the caller to close with.
   */
  String onMessage(String channelId, String cid, Mls m, long nowMillis) {
    Group g = groups.get(channelId);
    if (g == null || !g.connections.contains(cid)) {
      return "mls message from a connection not in an MLS-mode channel";
    }
    if (m.from() != null) {
      return "an mls message from a client must not have 'from'";
    }
    MlsFraming f;
    try {
      f = MlsFraming.parse(m.payloadBytes());
    } catch (IllegalArgumentException e) {
      return "malformed MLS message: " + e.getMessage();
    }
    if (m.welcome() != null) {
      try {
        if (MlsFraming.parse(m.welcomeBytes()).wireFormat() != MlsFraming.WELCOME) {
          return "'welcome' is not an MLS Welcome";
        }
      } catch (IllegalArgumentException e) {
        return "malformed MLS welcome: " + e.getMessage();
      }
      if (!(f.isGroupMessage() && f.contentType() == MlsFraming.COMMIT)) {
        refuse(cid, -1, "a welcome travels only with the commit that adds its members");
        return null;
      }
    }
    switch (f.wireFormat()) {
      case MlsFraming.KEY_PACKAGE -> onKeyPackage(g, cid, m, f, nowMillis);
      case MlsFraming.PUBLIC_MESSAGE, MlsFraming.PRIVATE_MESSAGE -> onHandshake(g, cid, m, f, nowMillis);
      default -> refuse(cid, -1, "only key packages, proposals and commits go to the delivery service (wire format "
          + f.wireFormat() + ")");
    }
    return null;
  }

  private void onKeyPackage(Group g, String cid, Mls m, MlsFraming f, long now) {
    if (f.cipherSuite() != 1) {
      refuse(cid, -1, "key package for cipher suite " + f.cipherSuite() + "; this channel uses suite 1");
      return;
    }
    if (g.members.contains(cid)) {
      refuse(cid, -1, "a member of the group publishes no key package");
      return;
    }
    g.waitingKeyPackages.put(cid, m.payload());
    if (g.nudgeAt == Long.MAX_VALUE) {
      g.nudgeAt = now + NUDGE_MILLIS;
    }
    for (String member : g.members) {
      out.add(new Send(member, Mls.from(cid, m.payload())));
    }
    proposeAdd(g, cid, false);
  }

  /** The server's external Add of {@code cid}'s waiting key package, to every member (once per epoch). */
  private void proposeAdd(Group g, String cid, boolean again) {
    String kp = g.waitingKeyPackages.get(cid);
    if (kp == null || g.members.isEmpty() || (!g.proposed.add(cid) && !again)) {
      return;
    }
    byte[] p;
    try {
      p = externalSender.addProposal(g.groupId, g.epoch, Base64.getDecoder().decode(kp));
    } catch (IllegalArgumentException e) {
      return; // not an mls10 key package message: relayed for the members to judge, never proposed
    }
    deliverProposal(g, p);
  }

  /** The server's external Remove of the leaf {@link Group#leaves} names for {@code cid} (once per epoch). */
  private void proposeRemove(Group g, String cid) {
    int leaf = g.leaves.indexOf(cid);
    if (leaf < 0 || g.members.isEmpty() || !g.proposed.add(cid)) {
      return;
    }
    deliverProposal(g, externalSender.removeProposal(g.groupId, g.epoch, leaf));
  }

  private void deliverProposal(Group g, byte[] p) {
    proposals++;
    Mls relay = Mls.external(p);
    for (String member : g.members) {
      out.add(new Send(member, relay));
    }
  }

  private void onHandshake(Group g, String cid, Mls m, MlsFraming f, long now) {
    if (!g.members.contains(cid)) {
      refuse(cid, f.epoch(), "only group members send proposals and commits");
      return;
    }
    if (!Arrays.equals(f.groupId(), g.groupId)) {
      refuse(cid, f.epoch(), "group id does not match this channel's group");
      return;
    }
    if (f.contentType() == MlsFraming.APPLICATION) {
      refuse(cid, f.epoch(), "application messages are not relayed (media keys come from the exporter)");
      return;
    }
    if (f.epoch() != g.epoch) {
      refused++;
      refuse(cid, f.epoch(), f.epoch() < g.epoch
          ? "stale epoch " + f.epoch() + ": epoch " + f.epoch() + " already has its commit; the channel is at epoch "
              + g.epoch
          : "epoch " + f.epoch() + " is ahead of the channel's epoch " + g.epoch);
      return;
    }
    Mls relay = Mls.from(cid, m.payload());
    for (String member : g.members) {
      out.add(new Send(member, relay));
    }
    if (f.contentType() != MlsFraming.COMMIT) {
      return;
    }
    accepted++;
    g.epoch++;
    if (m.welcome() != null) {
      Mls welcome = Mls.from(cid, m.welcome());
      for (String to : m.welcomeTo()) {
        if (g.connections.contains(to) && !g.members.contains(to)) {
          g.members.add(to);
          g.waitingKeyPackages.remove(to);
          out.add(new Send(to, welcome));
          // a new member may become the committer: it learns of the key packages still waiting
          for (Map.Entry<String, String> kp : g.waitingKeyPackages.entrySet()) {
            out.add(new Send(to, Mls.from(kp.getKey(), kp.getValue())));
          }
        }
      }
    }
    g.nudgeAt = g.waitingKeyPackages.isEmpty() ? Long.MAX_VALUE : now + NUDGE_MILLIS;
    // the new epoch: what the accepted commit did not settle is proposed again
    g.proposed.clear();
    if (!m.leaves().isEmpty()) {
      g.leaves = m.leaves();
    }
    g.departed.removeIf(c -> !g.leaves.contains(c));
    for (String c : g.waitingKeyPackages.keySet()) {
      proposeAdd(g, c, false);
    }
    for (String c : g.departed) {
      proposeRemove(g, c);
    }
  }

  private void refuse(String cid, long epoch, String reason) {
    out.add(new Send(cid, MlsEvent.refused(epoch, reason)));
  }

  /** The next output, or null. */
  Send pollOutput() {
    return out.poll();
  }

  /** When {@link #handleTimeout} should run next, or {@link Long#MAX_VALUE}. */
  long nextTimeoutMillis() {
    long t = Long.MAX_VALUE;
    for (Group g : groups.values()) {
      t = Math.min(t, g.nudgeAt);
    }
    return t;
  }

  /** Relays waiting key packages again where no commit came for {@link #NUDGE_MILLIS}. */
  void handleTimeout(long nowMillis) {
    for (Group g : groups.values()) {
      if (nowMillis >= g.nudgeAt) {
        for (Map.Entry<String, String> kp : g.waitingKeyPackages.entrySet()) {
          for (String member : g.members) {
            out.add(new Send(member, Mls.from(kp.getKey(), kp.getValue())));
          }
          proposeAdd(g, kp.getKey(), true);
        }
        g.nudgeAt = g.waitingKeyPackages.isEmpty() ? Long.MAX_VALUE : nowMillis + NUDGE_MILLIS;
      }
    }
  }

  /** The epoch the next commit of {@code channelId} must carry, or -1 without a group. */
  long epoch(String channelId) {
    Group g = groups.get(channelId);
    return g == null ? -1 : g.epoch;
  }

  /** The group id of {@code channelId}, or null. */
  byte[] groupId(String channelId) {
    Group g = groups.get(channelId);
    return g == null ? null : g.groupId.clone();
  }

  long acceptedCommits() {
    return accepted;
  }

  long refusedHandshakes() {
    return refused;
  }

  /** External proposals the server made. */
  long externalProposals() {
    return proposals;
  }

  /** The server's external sender (its public entry goes into {@code create}). */
  MlsExternalSender externalSender() {
    return externalSender;
  }

  @Override
  public String toString() {
    return "MlsDeliveryService[" + groups.size() + " channels, " + accepted + " commits]";
  }

  static String base64(byte[] b) {
    return Base64.getEncoder().encodeToString(b);
  }
}
