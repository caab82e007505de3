package dev.veil.e2ee.group;

import static dev.veil.e2ee.identity.VectorFiles.JSON;
import static dev.veil.e2ee.identity.VectorFiles.hex;
import static dev.veil.e2ee.identity.VectorFiles.unhex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.veil.e2ee.group.GroupOutput.ActivateSendKey;
import dev.veil.e2ee.group.GroupOutput.ForgetSender;
import dev.veil.e2ee.group.GroupOutput.InstallKey;
import dev.veil.e2ee.group.GroupOutput.Rejected;
import dev.veil.e2ee.group.GroupOutput.SendTo;
import dev.veil.e2ee.identity.Bundle;
import dev.veil.e2ee.identity.TestIdentities;
import dev.veil.e2ee.identity.VectorFiles;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * keys-manager.json: a scripted run of four group key managers (join, early message, leave, join while a key is
 * pending, acks, timeouts, rejections) with every input and the exact outputs, for other implementations to replay.
 */
class ManagerScenarioVectorsTest {
    static final String FILE = "keys-manager.json";
    static final List<String> NAMES = List.of("alice", "bob", "carol", "dave", "erin");
    static final int KEYS_PER_MEMBER = 4;

    /** Serves the listed 32-byte values, in order, to nextBytes(byte[32]). */
    static final class ListRandom extends SecureRandom {
        private static final long serialVersionUID = 1L;
        private final transient List<byte[]> values;
        private int next;

        ListRandom(List<byte[]> values) {
            this.values = values;
        }

        @Override
        public void nextBytes(byte[] bytes) {
            if (bytes.length != 32 || next >= values.size()) {
                throw new IllegalStateException("scenario random values exhausted or wrong size");
            }
            System.arraycopy(values.get(next++), 0, bytes, 0, 32);
        }
    }

    static List<byte[]> randomKeys(String name) {
        List<byte[]> r = new ArrayList<>();
        for (int i = 0; i < KEYS_PER_MEMBER; i++) {
            r.add(VectorFiles.seed("veil vector " + name + " random " + i));
        }
        return r;
    }

    /** Runs steps on managers and records them; {@code replay} re-runs recorded inputs. */
    static final class Runner {
        final Map<String, GroupKeyManager> managers = new HashMap<>();
        final ArrayNode steps = JSON.createArrayNode();
        final Map<String, List<byte[]>> sent = new HashMap<>(); // "from>to" -> messages in order

        ObjectNode step(String member, String input) {
            ObjectNode s = steps.addObject();
            s.put("member", member);
            s.put("input", input);
            return s;
        }

        void create(String m) {
            ObjectNode s = step(m, "create");
            s.put("connection_id", TestIdentities.connectionId(m));
            managers.put(m, new GroupKeyManager(TestIdentities.identity(m), TestIdentities.connectionId(m),
                    new ListRandom(randomKeys(m))));
            record(m, s);
        }

        void joined(long now, String m, String... others) {
            ObjectNode s = step(m, "members_joined");
            s.put("now", now);
            ArrayNode ids = s.putArray("connection_ids");
            List<Bundle> bs = new ArrayList<>();
            for (String o : others) {
                ids.add(TestIdentities.connectionId(o));
                bs.add(TestIdentities.bundle(o));
            }
            managers.get(m).membersJoined(now, bs);
            record(m, s);
        }

        void left(long now, String m, String other) {
            ObjectNode s = step(m, "member_left");
            s.put("now", now);
            s.put("connection_id", TestIdentities.connectionId(other));
            managers.get(m).memberLeft(now, TestIdentities.connectionId(other));
            record(m, s);
        }

        void timeout(long now, String m) {
            ObjectNode s = step(m, "timeout");
            s.put("now", now);
            managers.get(m).handleTimeout(now);
            record(m, s);
        }

        /** The relay loses the next unsent message of the link from → to. */
        void drop(String from, String to) {
            sent.get(from + ">" + to).remove(0);
        }

        /** Delivers the next unsent message of the link from → to. */
        void deliver(long now, String from, String to) {
            byte[] msg = sent.get(from + ">" + to).remove(0);
            receive(now, to, from, msg);
        }

        void receive(long now, String to, String from, byte[] msg) {
            ObjectNode s = step(to, "message_received");
            s.put("now", now);
            s.put("from", TestIdentities.connectionId(from));
            s.put("message", hex(msg));
            managers.get(to).messageReceived(now, TestIdentities.connectionId(from), msg);
            record(to, s);
        }

        void record(String m, ObjectNode s) {
            ArrayNode outs = s.putArray("outputs");
            for (GroupOutput o : managers.get(m).drainOutputs()) {
                outs.add(encode(o));
                if (o instanceof SendTo st) {
                    sent.computeIfAbsent(m + ">" + nameOf(st.connectionId()), k -> new ArrayList<>())
                            .add(st.message());
                }
            }
        }
    }

    static String nameOf(String connectionId) {
        for (String n : NAMES) {
            if (TestIdentities.connectionId(n).equals(connectionId)) {
                return n;
            }
        }
        throw new IllegalArgumentException(connectionId);
    }

    static ObjectNode encode(GroupOutput o) {
        ObjectNode n = JSON.createObjectNode();
        if (o instanceof SendTo s) {
            n.put("type", "send_to");
            n.put("connection_id", s.connectionId());
            n.put("message", hex(s.message()));
        } else if (o instanceof InstallKey k) {
            n.put("type", "install_key");
            n.put("sender", k.sender());
            n.put("generation", k.keyId().generation());
            n.put("step", k.keyId().step());
            n.put("base_key", hex(k.baseKey().toByteArray()));
        } else if (o instanceof ActivateSendKey a) {
            n.put("type", "activate_send_key");
            n.put("generation", a.keyId().generation());
            n.put("step", a.keyId().step());
            n.put("base_key", hex(a.baseKey().toByteArray()));
        } else if (o instanceof ForgetSender f) {
            n.put("type", "forget_sender");
            n.put("connection_id", f.connectionId());
        } else if (o instanceof Rejected r) {
            n.put("type", "rejected");
            n.put("from", r.from());
            n.put("reason", r.reason().name());
        }
        return n;
    }

    static ObjectNode build() {
        Runner r = new Runner();
        r.create("alice");
        r.joined(0, "alice");                                   // first in the room: empty list
        r.create("bob");
        r.joined(100, "bob", "alice");                          // bob's own connection.created
        r.joined(100, "alice", "bob");                          // alice's connection.created for bob
        r.deliver(150, "bob", "alice");                         // alice installs bob's (0,1), acks (every KEY)
        r.deliver(150, "alice", "bob");
        r.deliver(160, "alice", "bob");                         // the acks
        r.deliver(160, "bob", "alice");
        r.create("carol");
        r.joined(200, "carol", "alice", "bob");
        r.deliver(210, "carol", "bob");                         // before bob knows carol: kept
        r.joined(220, "bob", "carol");                          // ... and processed here
        r.joined(230, "alice", "carol");
        r.deliver(240, "carol", "alice");
        r.deliver(240, "alice", "carol");
        r.deliver(240, "bob", "carol");
        r.deliver(245, "bob", "carol");                         // acks
        r.deliver(245, "alice", "carol");
        r.deliver(250, "carol", "alice");
        r.deliver(250, "carol", "bob");
        r.left(1_000, "alice", "carol");                        // fresh generation 1, pending, deadline 2500
        r.left(1_010, "bob", "carol");
        r.deliver(1_020, "alice", "bob");                       // bob installs and acks
        r.deliver(1_030, "bob", "alice");                       // alice installs bob's pending key and acks
        r.deliver(1_040, "bob", "alice");                       // bob's ack: alice activates (1,0)
        r.create("dave");
        r.joined(1_100, "dave", "alice", "bob");
        r.joined(1_110, "alice", "dave");                       // no pending key: ratchet to (1,1)
        r.joined(1_120, "bob", "dave");                         // bob's key (1,0) still pending: dave gets it
        r.timeout(1_130, "bob");                                // before the deadline: nothing
        r.deliver(1_140, "alice", "bob");                       // alice's ack of bob's pending key
        byte[] daveKeyToAlice = r.sent.get("dave>alice").get(0).clone();
        r.deliver(1_150, "dave", "alice");
        r.deliver(1_150, "dave", "bob");
        r.deliver(1_160, "alice", "dave");
        r.deliver(1_160, "bob", "dave");                        // dave installs bob's pending key, acks
        byte[] daveAck = r.sent.get("dave>bob").get(0);
        r.deliver(1_170, "dave", "bob");                        // bob activates (1,0)
        r.receive(1_180, "bob", "dave", daveAck);               // replayed: REPLAY
        byte[] forged = daveKeyToAlice.clone();
        forged[forged.length - 16 - KeyMessage.KEY_LENGTH - 1] = 5; // seq 0 -> 5 (last byte of the uint32)
        r.receive(1_190, "alice", "dave", forged);              // BAD_TAG
        r.receive(1_195, "alice", "dave", daveAck);             // addressed to bob: WRONG_RECIPIENT
        r.receive(1_200, "alice", "carol", new byte[] {1, 1}); // carol left: UNKNOWN_SENDER
        r.deliver(1_210, "alice", "dave");                      // the remaining acks
        r.deliver(1_210, "bob", "dave");
        r.deliver(1_220, "dave", "alice");
        r.left(2_000, "alice", "bob");                          // pending (2,0) for dave, deadline 3500
        r.joined(2_050, "alice", "erin");                       // joins the pending rotation
        r.left(2_100, "alice", "erin");                         // fresh pending (3,0); deadline stays 3500
        r.drop("alice", "dave");                                // the relay loses both KEYs to dave
        r.drop("alice", "dave");
        r.timeout(2_350, "alice");                              // no ack: (3,0) sent again (rule R)
        r.deliver(2_360, "alice", "dave");                      // dave installs it and acks
        r.drop("dave", "alice");                                // the ack is lost
        r.timeout(2_850, "alice");                              // sent again, 500 ms later
        r.deliver(2_860, "alice", "dave");                      // same KID: acked again, not installed
        r.drop("dave", "alice");                                // lost too
        r.timeout(3_499, "alice");
        r.timeout(3_500, "alice");                              // the deadline: (3,0) activated
        r.timeout(3_850, "alice");                              // still unacked: sent again, now ACTIVE
        r.deliver(3_860, "alice", "dave");
        r.deliver(3_870, "dave", "alice");                      // acked: no more retransmissions
        r.timeout(9_000, "alice");

        ObjectNode root = JSON.createObjectNode();
        root.put("description", "Scripted run of group key managers (docs/PROTOCOL.md §3.5). Identities are those"
                + " of keys-identity.json. Each manager draws its random 32-byte keys, in order, from random_keys"
                + " (the first at create). Replay steps in order, one manager per member; after each input the"
                + " manager's outputs must equal 'outputs' exactly, in order. Bundles for members_joined are the"
                + " bundles of keys-identity.json labelled with the given connection ids. Config: GroupKeyManager"
                + " Config.DEFAULT (activation deadline 1500 ms after a leave, never moved later; refresh after 8"
                + " steps; every KEY acked, resent after 250 ms doubling to 2000 ms, at most 10 times; early-message"
                + " buffer 16 per sender x 64 senders, 1024 bytes a message, 65536 bytes in all; 4096 departed ids).");
        ObjectNode keys = root.putObject("random_keys");
        for (String n : NAMES) {
            ArrayNode a = keys.putArray(n);
            for (byte[] k : randomKeys(n)) {
                a.add(hex(k));
            }
        }
        root.set("steps", r.steps);
        return root;
    }

    @Test
    void scenario_replaysToTheRecordedOutputs() {
        JsonNode file = VectorFiles.sync(FILE, build());
        assertEquals(VectorFiles.normalized(build()), file, FILE + " is stale: run with -Dveil.vectors.write=true");
        // replay from the file's inputs alone, as another implementation would
        Map<String, GroupKeyManager> ms = new HashMap<>();
        Map<String, Integer> types = new HashMap<>();
        for (JsonNode s : file.get("steps")) {
            String m = s.get("member").asText();
            long now = s.path("now").asLong();
            switch (s.get("input").asText()) {
                case "create" -> {
                    List<byte[]> keys = new ArrayList<>();
                    file.get("random_keys").get(m).forEach(k -> keys.add(unhex(k)));
                    ms.put(m, new GroupKeyManager(TestIdentities.identity(m), s.get("connection_id").asText(),
                            new ListRandom(keys)));
                }
                case "members_joined" -> {
                    List<Bundle> bs = new ArrayList<>();
                    s.get("connection_ids").forEach(id -> bs.add(TestIdentities.bundle(nameOf(id.asText()))));
                    ms.get(m).membersJoined(now, bs);
                }
                case "member_left" -> ms.get(m).memberLeft(now, s.get("connection_id").asText());
                case "message_received" -> ms.get(m).messageReceived(now, s.get("from").asText(),
                        unhex(s.get("message")));
                case "timeout" -> ms.get(m).handleTimeout(now);
                default -> throw new AssertionError("unknown input " + s.get("input"));
            }
            ArrayNode actual = JSON.createArrayNode();
            for (GroupOutput o : ms.get(m).drainOutputs()) {
                actual.add(encode(o));
            }
            assertEquals(VectorFiles.normalized(s.get("outputs")), VectorFiles.normalized(actual), s.toString());
            s.get("outputs").forEach(o -> types.merge(o.get("type").asText(), 1, Integer::sum));
        }
        assertTrue(types.keySet().containsAll(List.of("send_to", "install_key", "activate_send_key",
                "forget_sender", "rejected")), "the scenario exercises every output type: " + types);
    }
}
