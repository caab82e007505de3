package dev.veil.hostile;

import dev.veil.server.ServerConfig;
import dev.veil.server.VeilServer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * TEST ONLY: a hostile veil-server as a process, for the browser hostile-server suite (veil-js). It runs a real
 * {@link VeilServer} on ephemeral ports with a {@link HostileMedia} hand on its forwarding, and a {@link
 * HostileRelay} in front of its signaling ({@code --rtc-address A}: media bound to and announcing A, as the
 * browser tests' network namespace needs; 127.0.0.1 otherwise), and prints one line:
 *
 * <pre>veil-hostile listening relay_port=N http_port=N rtc_port=N</pre>
 *
 * <p>Pages load the SDK from {@code http_port} and connect their signaling to {@code relay_port}. The test then
 * drives the attacks with one command per line on standard input; each is answered with one line, {@code ok ...}
 * or {@code error ...}. Members are named by index in the order their WebSockets reached the relay.
 *
 * <pre>
 * links                    ok links ID,ID,...
 * pass                     signaling and media pass unchanged again (after reoffer-replay the extra m-line stays
 *                          in later offers and out of answers: JSEP never removes an m-line; nothing is replayed)
 * substitute-bundles K     member K (may join later) sees bundles of the server's own for everyone else
 * ghost K                  member K (only) is told a ghost joined           ok ghost ID
 * relabel K J              key messages to member K from anyone but J (an index, or a 26-character
 *                          connection id such as a ghost's) are stamped as from J
 * drop-e2ee K N            the first N key messages to member K (may join later) are dropped
 * give-id K J              member K (may join later) is told its connection id is member J's
 * withhold-leave K J       member K is never told that member J left
 * churn-ghosts MS          every MS ms a ghost joins (for every member) and leaves MS/2 later, until pass
 * duplicate-e2ee           every key message is delivered twice
 * delay-e2ee MS            every key message is delivered MS milliseconds late (in order)
 * reorder-e2ee             to every member, every two key messages are delivered swapped (a lone one 300 ms late)
 * media corrupt C          frames corrupted past C clear bytes, some truncated
 * media replay             every frame sent twice plus an earlier one
 * media pass
 * reoffer-replay K J KIND  member K is re-offered a new KIND m-line labelled as member J, on which J's KIND packets
 *                          recorded from the start are replayed     ok reoffer-replay ORIGINAL_SSRC NEW_SSRC
 * injected                 packets replayed by reoffer-replay so far                      ok injected N
 * forge K J KID:KEY,...    member J's video to member K is replaced, frame by frame, by a recorded key frame of
 *                          J's that one of the SFrame keys (KID: decimal, KEY: hex base key; a leaver's keys of J)
 *                          opens, encrypted again under that key with fresh counters (OldKeyForger)  ok forge
 * forged                   frames forged by forge so far                                     ok forged N
 * </pre>
 *
 * Standard input closing stops the process.
 */
public final class HostileServerMain {
  /** The running ghost churn's switch (commands run one at a time, on the main thread). */
  private static java.util.concurrent.atomic.AtomicBoolean churning = new java.util.concurrent.atomic.AtomicBoolean();
  /** The running re-offer replay, if any. */
  private static NewTrackReplay reofferReplay;
  /** The running forger, if any. */
  private static OldKeyForger forger;

  private HostileServerMain() {
  }

  public static void main(String[] args) throws Exception {
    ServerConfig config = ServerConfig.defaults().withPorts(0, 0).withE2ee(true);
    if (args.length == 2 && args[0].equals("--rtc-address")) {
      config = config.withRtcAddress(args[1]); // the browser tests' network namespace address (198.18.0.1)
    } else if (args.length != 0) {
      throw new IllegalArgumentException("usage: veil-hostile [--rtc-address ADDRESS]");
    }
    VeilServer server = new VeilServer(config);
    server.start();
    HostileMedia media = new HostileMedia();
    server.setForwardTamperForTesting(media);
    HostileRelay relay = new HostileRelay(server.httpPort());
    System.out.println("veil-hostile listening relay_port=" + relay.uri().getPort() + " http_port="
        + server.httpPort() + " rtc_port=" + server.rtcPort());
    System.out.flush();
    try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      for (String line; (line = in.readLine()) != null; ) {
        String reply;
        try {
          reply = "ok " + run(line.trim().split("\\s+"), relay, media);
        } catch (RuntimeException e) {
          reply = "error " + e.getMessage();
        }
        System.out.println(reply);
        System.out.flush();
      }
    } finally {
      relay.close();
      server.close();
    }
  }

  private static String run(String[] c, HostileRelay relay, HostileMedia media) {
    switch (c[0]) {
      case "links": {
        List<String> ids = new ArrayList<>();
        for (HostileRelay.Link l : relay.links) {
          ids.add(String.valueOf(l.connectionId));
        }
        return "links " + String.join(",", ids);
      }
      case "pass":
        churning.set(false);
        relay.script(reofferReplay != null ? reofferReplay : new HostileRelay.Script() { });
        media.act((from, to, payload, rec) -> List.of(payload));
        media.inject((from, to, rtp) -> List.of());
        return "pass";
      case "reoffer-replay":
        reofferReplay = new NewTrackReplay(relay, media, link(relay, c, 1), link(relay, c, 2).connectionId, c[3])
            .start();
        return "reoffer-replay " + reofferReplay.originalSsrc() + " " + reofferReplay.ssrc();
      case "forge": {
        java.util.Map<Long, byte[]> keys = new java.util.LinkedHashMap<>();
        for (String k : c[3].split(",")) {
          String[] kv = k.split(":");
          keys.put(Long.parseUnsignedLong(kv[0]), java.util.HexFormat.of().parseHex(kv[1]));
        }
        try {
          forger = new OldKeyForger(relay, media, link(relay, c, 1), link(relay, c, 2).connectionId, keys);
        } catch (RuntimeException e) {
          throw e;
        } catch (Exception e) {
          throw new IllegalStateException("forge: " + e.getClass().getSimpleName());
        }
        media.actOnPackets(forger);
        return c[0];
      }
      case "forged":
        return "forged " + (forger == null ? 0 : forger.forged());
      case "injected":
        return "injected " + (reofferReplay == null ? 0 : reofferReplay.injected());
      case "substitute-bundles":
        relay.script(Attacks.substituteBundles(relay, Integer.parseInt(c[1])));
        return c[0];
      case "ghost":
        return "ghost " + Attacks.showGhost(link(relay, c, 1), relay.links.size() + 1);
      case "relabel":
        relay.script(Attacks.relabelKeyMessages(link(relay, c, 1),
            c[2].length() == 26 ? c[2] : link(relay, c, 2).connectionId));
        return c[0];
      case "drop-e2ee":
        relay.script(Attacks.dropKeyMessages(relay, Integer.parseInt(c[1]), Integer.parseInt(c[2])));
        return c[0];
      case "give-id":
        relay.script(Attacks.giveConnectionId(relay, Integer.parseInt(c[1]), link(relay, c, 2).connectionId));
        return c[0];
      case "withhold-leave":
        relay.script(Attacks.withholdLeave(link(relay, c, 1), link(relay, c, 2).connectionId));
        return c[0];
      case "churn-ghosts":
        churning.set(false);
        churning = new java.util.concurrent.atomic.AtomicBoolean(true);
        Attacks.churnGhosts(relay, Long.parseLong(c[1]), churning);
        return c[0];
      case "duplicate-e2ee":
        relay.script(Attacks.duplicateKeyMessages());
        return c[0];
      case "delay-e2ee":
        relay.script(Attacks.delayKeyMessages(relay, Long.parseLong(c[1])));
        return c[0] + " " + c[1];
      case "reorder-e2ee":
        relay.script(Attacks.reorderKeyMessages(relay, 300));
        return c[0];
      case "media":
        switch (c.length > 1 ? c[1] : "") {
          case "corrupt":
            media.act(Attacks.corruptFrames(Integer.parseInt(c[2])));
            break;
          case "replay":
            media.act(Attacks.replayFrames());
            break;
          case "pass":
            media.act((from, to, payload, rec) -> List.of(payload));
            break;
          default:
            throw new IllegalArgumentException("media corrupt C | replay | pass");
        }
        return "media " + c[1];
      default:
        throw new IllegalArgumentException("unknown command " + c[0]);
    }
  }

  private static HostileRelay.Link link(HostileRelay relay, String[] c, int arg) {
    int k = Integer.parseInt(c[arg]);
    if (k < 0 || k >= relay.links.size()) {
      throw new IllegalArgumentException("no member " + k + " (" + relay.links.size() + " connected)");
    }
    return relay.links.get(k);
  }
}
