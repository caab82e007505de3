package dev.veil.signaling;

import java.util.List;
import java.util.Objects;

/**
 * One entry of the {@code offer}'s {@code ice_servers}: a STUN or TURN server the client adds to its ICE
 * configuration (as an {@code RTCIceServer}: {@code urls}, {@code username}, {@code credential}). For TURN the server
 * mints time-limited credentials (TURN REST: {@code username = <expiry unix seconds>:<connection id>},
 * {@code credential = base64(HMAC-SHA1(shared secret, username))}, docs/PROTOCOL.md §1.6).
 *
 * @param urls 1..{@value #MAX_URLS} {@code stun:}, {@code turn:} or {@code turns:} URIs (RFC 7064, RFC 7065)
 * @param username the TURN username, or null (STUN)
 * @param credential the TURN password, or null (STUN)
 */
public record IceServer(List<String> urls, String username, String credential) {
  public static final int MAX_URLS = 8;
  public static final int MAX_URL_CHARS = 512;
  public static final int MAX_CREDENTIAL_CHARS = 512;

  public IceServer {
    urls = List.copyOf(Objects.requireNonNull(urls, "urls"));
    if (urls.isEmpty() || urls.size() > MAX_URLS) {
      throw new IllegalArgumentException("an ICE server needs 1.." + MAX_URLS + " urls");
    }
    for (String u : urls) {
      if (!validUrl(u)) {
        throw new IllegalArgumentException("not a stun:, turn: or turns: URI of at most " + MAX_URL_CHARS
            + " characters");
      }
    }
    if ((username == null) != (credential == null)) {
      throw new IllegalArgumentException("username and credential go together");
    }
    if (username != null && (username.length() > MAX_CREDENTIAL_CHARS || credential.length() > MAX_CREDENTIAL_CHARS)) {
      throw new IllegalArgumentException("username or credential longer than " + MAX_CREDENTIAL_CHARS);
    }
  }

  /** Whether {@code u} is a stun:, turn: or turns: URI of acceptable length. */
  public static boolean validUrl(String u) {
    return u != null && u.length() <= MAX_URL_CHARS && u.length() > 5
        && (u.startsWith("stun:") || u.startsWith("turn:") || u.startsWith("turns:"))
        && u.chars().noneMatch(c -> c <= ' ' || c == 0x7f);
  }

  /** The credential stays out of logs. */
  @Override
  public String toString() {
    return "IceServer[urls=" + urls + ", username=" + username + (credential == null ? "" : ", credential=…") + "]";
  }
}
