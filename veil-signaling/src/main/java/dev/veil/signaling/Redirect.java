package dev.veil.signaling;

import java.net.URI;
import java.util.Objects;

/**
 * {@code redirect}: the server's answer to a {@code connect} for a channel another node of the cluster owns
 * (docs/PROTOCOL.md §1.9). The client closes this WebSocket and sends the same {@code connect} to {@code location}.
 *
 * @param location the owning node's signaling URL ({@code ws://} or {@code wss://}, at most
 *     {@link #MAX_LOCATION_CHARS} characters)
 */
public record Redirect(String location) implements SignalingMessage {
  /** Longest accepted {@code location}. */
  public static final int MAX_LOCATION_CHARS = 2048;

  public Redirect {
    Objects.requireNonNull(location, "location");
    if (!valid(location)) {
      throw new IllegalArgumentException("a redirect location is a ws:// or wss:// URL with a host");
    }
  }

  /** Whether {@code s} is a usable location: a ws/wss URL with a host, no user info, no fragment. */
  public static boolean valid(String s) {
    if (s == null || s.isEmpty() || s.length() > MAX_LOCATION_CHARS) {
      return false;
    }
    try {
      URI u = new URI(s);
      String scheme = u.getScheme();
      return scheme != null && (scheme.equals("ws") || scheme.equals("wss")) && u.getHost() != null
          && u.getRawUserInfo() == null && u.getRawFragment() == null;
    } catch (java.net.URISyntaxException e) {
      return false;
    }
  }

  @Override
  public String type() {
    return "redirect";
  }
}
