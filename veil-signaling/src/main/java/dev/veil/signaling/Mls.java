package dev.veil.signaling;

import java.util.Base64;
import java.util.List;
import java.util.Objects;

/**
 * {@code mls}: one MLS message (RFC 9420 {@code MLSMessage}, standard base64) of an MLS-mode channel, relayed by the
 * server acting as delivery service (docs/PROTOCOL.md §4). A client sends {@code payload} (a key package, a proposal
 * or a commit) and, with a commit that adds members, the {@code welcome} and the connection ids it is for
 * ({@code welcome_to}); the server delivers {@code from} (the true sender, stamped) and {@code payload} only.
 *
 * @param from the sender (server to client) or {@code null}
 * @param payload standard base64 of one MLSMessage
 * @param welcome standard base64 of the Welcome that goes with a commit, or {@code null}
 * @param welcomeTo the connection ids the welcome is for (non-empty exactly when {@code welcome} is set)
 * @param leaves with a client's commit, optionally: element i is the connection id at leaf i of the epoch the commit
 *     starts ({@code ""} for a blank leaf), a hint for the server's Remove proposals (docs/PROTOCOL.md §4.8)
 */
public record Mls(String from, String payload, String welcome, List<String> welcomeTo, List<String> leaves)
    implements SignalingMessage {

  /** Most connection ids in {@code welcome_to}. */
  public static final int MAX_WELCOME_TO = 100;
  /** Most entries in {@code leaves}. */
  public static final int MAX_LEAVES = 1000;

  public Mls {
    Objects.requireNonNull(payload, "payload");
    welcomeTo = welcomeTo == null ? List.of() : List.copyOf(welcomeTo);
    leaves = leaves == null ? List.of() : List.copyOf(leaves);
    if (leaves.size() > MAX_LEAVES) {
      throw new IllegalArgumentException("more than " + MAX_LEAVES + " leaves");
    }
    if ((welcome == null) != welcomeTo.isEmpty()) {
      throw new IllegalArgumentException("welcome and welcome_to go together");
    }
    if (from != null && welcome != null) {
      throw new IllegalArgumentException("the server delivers a welcome as its own payload");
    }
    if (welcomeTo.size() > MAX_WELCOME_TO) {
      throw new IllegalArgumentException("more than " + MAX_WELCOME_TO + " welcome_to entries");
    }
  }

  public Mls(String from, String payload, String welcome, List<String> welcomeTo) {
    this(from, payload, welcome, welcomeTo, null);
  }

  /** A client's commit with the welcome for {@code welcomeTo} and the connection id of every leaf after it. */
  public static Mls commit(byte[] commit, byte[] welcome, List<String> welcomeTo, List<String> leaves) {
    return new Mls(null, Base64.getEncoder().encodeToString(commit),
        welcome == null ? null : Base64.getEncoder().encodeToString(welcome), welcome == null ? null : welcomeTo,
        leaves);
  }

  /** The server's own proposal as external sender: no {@code from} (docs/PROTOCOL.md §4.8). */
  public static Mls external(byte[] proposal) {
    return of(proposal);
  }

  /** A client's message without a welcome. */
  public static Mls of(byte[] message) {
    return new Mls(null, Base64.getEncoder().encodeToString(message), null, null);
  }

  /** A client's commit with the welcome for {@code welcomeTo}. */
  public static Mls commit(byte[] commit, byte[] welcome, List<String> welcomeTo) {
    return new Mls(null, Base64.getEncoder().encodeToString(commit),
        welcome == null ? null : Base64.getEncoder().encodeToString(welcome), welcome == null ? null : welcomeTo);
  }

  /** The server's delivery of {@code payload} from {@code sender}. */
  public static Mls from(String sender, String payload) {
    return new Mls(sender, payload, null, null);
  }

  public byte[] payloadBytes() {
    return Base64.getDecoder().decode(payload);
  }

  public byte[] welcomeBytes() {
    return welcome == null ? null : Base64.getDecoder().decode(welcome);
  }

  @Override
  public String type() {
    return "mls";
  }

  @Override
  public String toString() {
    return "Mls[from=" + from + ", payload=" + payload.length() + " chars" + (welcome == null ? ""
        : ", welcome to " + welcomeTo) + "]";
  }
}
