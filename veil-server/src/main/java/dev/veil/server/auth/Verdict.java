package dev.veil.server.auth;

import java.util.Set;

/** What {@link TokenVerifier} decided about one connect. */
public sealed interface Verdict {

  /**
   * The connect may proceed; {@code subject} is the token's {@code sub} (or {@code null}; open mode);
   * {@code expiresAtMillis} the token's {@code exp} plus the clock skew allowed, in wall-clock milliseconds
   * ({@link Long#MAX_VALUE} in open mode): past it the token is no longer valid.
   */
  record Allowed(String subject, Set<String> roles, long expiresAtMillis) implements Verdict {
    public Allowed {
      roles = Set.copyOf(roles);
    }

    /** Without an expiry (open mode). */
    public Allowed(String subject, Set<String> roles) {
      this(subject, roles, Long.MAX_VALUE);
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
