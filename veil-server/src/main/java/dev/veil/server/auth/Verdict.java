package dev.veil.server.auth;

import java.util.Set;

/** What {@link TokenVerifier} decided about one connect. */
public sealed interface Verdict {

  /** The connect may proceed; {@code subject} is the token's {@code sub} (or {@code null}; open mode). */
  record Allowed(String subject, Set<String> roles) implements Verdict {
    public Allowed {
      roles = Set.copyOf(roles);
    }
  }

  /**
   * The connect is refused: {@code code} is one of the {@code token_*} codes of docs/PROTOCOL.md §1.7 and
   * {@code reason} says why without quoting the token.
   */
  record Refused(String code, String reason) implements Verdict {
    /** The text of the {@code error} message: {@code "<code>: <reason>"}. */
    public String message() {
      return code + ": " + reason;
    }
  }
}
