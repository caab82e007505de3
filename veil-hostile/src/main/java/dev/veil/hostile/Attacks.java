package dev.veil.hostile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.veil.e2ee.identity.Bundle;
import dev.veil.e2ee.identity.Identity;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;

/**
 * The attacks of the hostile-server suites, shared by the Java tests and {@link HostileServerMain} (the browser
 * tests): each is what a malicious operator of veil-server can do with its signaling relay or its media path.
 * docs/SECURITY.md §6 lists the outcome each must have.
 */
public final class Attacks {
  private static final SecureRandom RANDOM = new SecureRandom();

  private Attacks() {
  }

  /**
   * Bundle substitution (a man in the middle at join time): the client of the {@code victim}-th link to reach the
   * relay (counting from 0; it may connect later) is shown, for every other member, a bundle of the server's own
   * made for that member's connection id.
   */
  public static HostileRelay.Script substituteBundles(HostileRelay relay, int victim) {
    Map<String, Identity> fakes = new ConcurrentHashMap<>();
    return new HostileRelay.Script() {
      @Override
      public List<JsonNode> fromServer(HostileRelay.Link link, ObjectNode msg) {
        if (relay.links.indexOf(link) == victim && msg.path("type").asText().equals("notify")) {
          forEachMemberMetadata(msg, (id, meta) -> {
            if (!id.equals(link.connectionId) && meta.has(Bundle.METADATA_MEMBER)) {
              Identity fake = fakes.computeIfAbsent(id, k -> Identity.generate(RANDOM));
              meta.set(Bundle.METADATA_MEMBER, parse(fake.bundle(id).toJson()));
            }
          });
        }
        return List.of(msg);
      }
    };
  }

  /**
   * Split view: announces to {@code victim} only a ghost member with a bundle of the server's own; returns the
   * ghost's connection id.
   */
  public static String showGhost(HostileRelay.Link victim, int channelConnections) {
    String ghostId = ghostId();
    Identity ghost = Identity.generate(RANDOM);
    ObjectNode n = notify("connection.created", ghostId, channelConnections);
    n.putObject("signaling_notify_metadata").set(Bundle.METADATA_MEMBER, parse(ghost.bundle(ghostId).toJson()));
    victim.toClient(n);
    return ghostId;
  }

  /**
   * Ghost churn: every {@code periodMillis} a new ghost (with a bundle of the server's own) is announced to every
   * member, and announced gone {@code periodMillis / 2} later — joins and leaves that never acknowledge anything, to
   * keep postponing a re-key. Runs until {@code running} is false.
   */
  public static void churnGhosts(HostileRelay relay, long periodMillis, java.util.concurrent.atomic.AtomicBoolean running) {
    if (!running.get()) {
      return;
    }
    String ghostId = ghostId();
    Identity ghost = Identity.generate(RANDOM);
    int n = relay.links.size() + 1;
    for (HostileRelay.Link l : relay.links) {
      ObjectNode created = notify("connection.created", ghostId, n);
      created.putObject("signaling_notify_metadata").set(Bundle.METADATA_MEMBER, parse(ghost.bundle(ghostId).toJson()));
      l.toClient(created);
    }
    relay.later(periodMillis / 2, () -> {
      for (HostileRelay.Link l : relay.links) {
        l.toClient(notify("connection.destroyed", ghostId, n - 1));
      }
    });
    relay.later(periodMillis, () -> churnGhosts(relay, periodMillis, running));
  }

  private static ObjectNode notify(String event, String id, int channelConnections) {
    ObjectNode n = HostileRelay.JSON.createObjectNode();
    n.put("type", "notify");
    n.put("event_type", event);
    n.put("connection_id", id);
    n.put("role", "sendrecv");
    n.put("channel_connections", channelConnections);
    return n;
  }

  /** A connection id as the server makes them (26 characters of Crockford base32), starting "GH0ST". */
  private static String ghostId() {
    String alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    StringBuilder id = new StringBuilder("GH0ST");
    while (id.length() < 26) {
      id.append(alphabet.charAt(RANDOM.nextInt(32)));
    }
    return id.toString();
  }

  /**
   * Relabelling: every key message delivered to {@code victim} from anyone but {@code as} is stamped as coming
   * from {@code as}.
   */
  public static HostileRelay.Script relabelKeyMessages(HostileRelay.Link victim, String as) {
    return new HostileRelay.Script() {
      @Override
      public List<JsonNode> fromServer(HostileRelay.Link link, ObjectNode msg) {
        if (link == victim && msg.path("type").asText().equals("e2ee") && !msg.path("from").asText().equals(as)) {
          msg.put("from", as);
        }
        return List.of(msg);
      }
    };
  }

  /** A withheld leave: {@code victim} is never told that {@code leaverId} left (the others are). */
  public static HostileRelay.Script withholdLeave(HostileRelay.Link victim, String leaverId) {
    return new HostileRelay.Script() {
      @Override
      public List<JsonNode> fromServer(HostileRelay.Link link, ObjectNode msg) {
        boolean hidden = link == victim && msg.path("type").asText().equals("notify")
            && msg.path("event_type").asText().equals("connection.destroyed")
            && msg.path("connection_id").asText().equals(leaverId);
        return hidden ? List.of() : List.of(msg);
      }
    };
  }

  /**
   * Lost key messages: the first {@code count} relay messages to the client of the {@code victim}-th link (it may
   * connect later) are dropped.
   */
  public static HostileRelay.Script dropKeyMessages(HostileRelay relay, int victim, int count) {
    AtomicInteger dropped = new AtomicInteger();
    return new HostileRelay.Script() {
      @Override
      public List<JsonNode> fromServer(HostileRelay.Link link, ObjectNode msg) {
        if (relay.links.indexOf(link) == victim && msg.path("type").asText().equals("e2ee")
            && dropped.getAndUpdate(n -> n < count ? n + 1 : n) < count) {
          return List.of();
        }
        return List.of(msg);
      }
    };
  }

  /**
   * Reused connection ids: the client of the {@code victim}-th link (it may connect later) is told, in its offer,
   * that its connection id is {@code id} (another member's).
   */
  public static HostileRelay.Script giveConnectionId(HostileRelay relay, int victim, String id) {
    return new HostileRelay.Script() {
      @Override
      public List<JsonNode> fromServer(HostileRelay.Link link, ObjectNode msg) {
        if (relay.links.indexOf(link) == victim && msg.path("type").asText().equals("offer")) {
          msg.put("connection_id", id);
        }
        return List.of(msg);
      }
    };
  }

  /** Replay of key messages: every relay message is delivered twice. */
  public static HostileRelay.Script duplicateKeyMessages() {
    return new HostileRelay.Script() {
      @Override
      public List<JsonNode> fromServer(HostileRelay.Link link, ObjectNode msg) {
        return msg.path("type").asText().equals("e2ee") ? List.of(msg, msg.deepCopy()) : List.of(msg);
      }
    };
  }

  /**
   * Delayed key messages (e.g. acknowledgements held back to postpone a re-key): every relay message is delivered
   * {@code millis} late, in order.
   */
  public static HostileRelay.Script delayKeyMessages(HostileRelay relay, long millis) {
    return new HostileRelay.Script() {
      @Override
      public List<JsonNode> fromServer(HostileRelay.Link link, ObjectNode msg) {
        if (!msg.path("type").asText().equals("e2ee")) {
          return List.of(msg);
        }
        relay.later(millis, () -> link.toClient(msg));
        return List.of();
      }
    };
  }

  /**
   * Reordered key messages: to every member, each relay message is held back until the next one has been delivered
   * (pairs swapped), or {@code flushMillis} at most if none follows.
   */
  public static HostileRelay.Script reorderKeyMessages(HostileRelay relay, long flushMillis) {
    Map<HostileRelay.Link, ObjectNode> held = new ConcurrentHashMap<>();
    return new HostileRelay.Script() {
      @Override
      public List<JsonNode> fromServer(HostileRelay.Link link, ObjectNode msg) {
        if (!msg.path("type").asText().equals("e2ee")) {
          return List.of(msg);
        }
        synchronized (held) {
          ObjectNode before = held.remove(link);
          if (before != null) {
            return List.of(msg, before);
          }
          held.put(link, msg);
        }
        relay.later(flushMillis, () -> {
          synchronized (held) {
            if (held.remove(link, msg)) {
              link.toClient(msg);
            }
          }
        });
        return List.of();
      }
    };
  }

  /**
   * Frame corruption: of every 15 forwarded frames, 5 get one bit flipped past the first {@code clearBytes} (the
   * codec prefix the E2EE layer leaves in clear) and 2 lose their last 3 bytes; the rest pass.
   */
  public static HostileMedia.Action corruptFrames(int clearBytes) {
    AtomicInteger n = new AtomicInteger();
    return (from, to, payload, recorded) -> {
      int i = n.incrementAndGet();
      if (payload.length <= clearBytes + 4) {
        return List.of(payload);
      }
      if (i % 3 == 0) {
        byte[] bad = payload.clone();
        bad[clearBytes + (i % (bad.length - clearBytes))] ^= 0x40;
        return List.of(bad);
      }
      if (i % 5 == 0) {
        return List.of(Arrays.copyOf(payload, payload.length - 3));
      }
      return List.of(payload);
    };
  }

  /** Frame replay: every forwarded frame is sent twice, then a copy of a frame recorded earlier on that path. */
  public static HostileMedia.Action replayFrames() {
    return (from, to, payload, recorded) -> recorded.isEmpty() ? List.of(payload)
        : List.of(payload, payload.clone(), recorded.get(recorded.size() / 2));
  }

  /** Calls {@code f} with (connection id, signaling_notify_metadata) of every member a notify describes. */
  public static void forEachMemberMetadata(ObjectNode notify, BiConsumer<String, ObjectNode> f) {
    if (notify.get("signaling_notify_metadata") instanceof ObjectNode meta) {
      f.accept(notify.path("connection_id").asText(), meta);
    }
    if (notify.get("data") instanceof ArrayNode data) {
      for (JsonNode e : data) {
        if (e.get("signaling_notify_metadata") instanceof ObjectNode meta) {
          f.accept(e.path("connection_id").asText(), meta);
        }
      }
    }
  }

  static JsonNode parse(String json) {
    try {
      return HostileRelay.JSON.readTree(json);
    } catch (Exception e) {
      throw new IllegalArgumentException(e);
    }
  }
}
