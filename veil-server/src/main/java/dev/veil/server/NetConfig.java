package dev.veil.server;

import dev.veil.signaling.IceServer;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * How clients behind restrictive networks reach the media (docs/PROTOCOL.md §1.6): the passive ICE-TCP candidate's
 * port and the TURN servers handed to clients.
 *
 * @param rtcTcpPort TCP port of the ICE-TCP candidate (RFC 6544): -1 = off, 0 = ephemeral
 * @param turn the TURN servers and the secret their credentials are minted with, or null for none
 */
public record NetConfig(int rtcTcpPort, Turn turn) {

  public NetConfig {
    if (rtcTcpPort < -1 || rtcTcpPort > 65535) {
      throw new IllegalArgumentException("rtc_tcp_port must be -1 (off) or 0..65535");
    }
  }

  /** No ICE-TCP and no TURN: the configuration before either existed. */
  public static NetConfig off() {
    return new NetConfig(-1, null);
  }

  public boolean iceTcp() {
    return rtcTcpPort >= 0;
  }

  public NetConfig withRtcTcpPort(int port) {
    return new NetConfig(port, turn);
  }

  public NetConfig withTurn(Turn t) {
    return new NetConfig(rtcTcpPort, t);
  }

  /**
   * TURN servers that use TURN REST credentials (coturn's {@code use-auth-secret} with {@code static-auth-secret}):
   * for each connection the server mints {@code username = <expiry, unix seconds>:<connection id>} and
   * {@code credential = base64(HMAC-SHA1(secret, username))}, valid {@code ttlSeconds}.
   *
   * @param urls turn:/turns: (or stun:) URIs handed to clients as one ICE server entry
   * @param secret the shared secret (never logged: not in {@link #toString()})
   * @param ttlSeconds how long minted credentials are valid
   */
  public record Turn(List<String> urls, byte[] secret, int ttlSeconds) {
    public Turn {
      urls = List.copyOf(Objects.requireNonNull(urls, "urls"));
      Objects.requireNonNull(secret, "secret");
      if (urls.isEmpty() || urls.size() > IceServer.MAX_URLS) {
        throw new IllegalArgumentException("turn.urls needs 1.." + IceServer.MAX_URLS + " URIs");
      }
      for (String u : urls) {
        if (!IceServer.validUrl(u)) {
          throw new IllegalArgumentException("turn.urls: not a turn:, turns: or stun: URI: " + u);
        }
      }
      if (secret.length == 0) {
        throw new IllegalArgumentException("turn needs a secret");
      }
      if (ttlSeconds < 60 || ttlSeconds > 7 * 86400) {
        throw new IllegalArgumentException("turn.ttl_seconds must be 60..604800");
      }
      secret = secret.clone();
    }

    /** The ICE server entry for {@code memberId}, with credentials valid from {@code nowEpochSeconds} for the TTL. */
    public IceServer credentialsFor(String memberId, long nowEpochSeconds) {
      String username = (nowEpochSeconds + ttlSeconds) + ":" + memberId;
      return new IceServer(urls, username, credential(secret, username));
    }

    /** The TURN REST password of {@code username}: base64 of HMAC-SHA1 keyed with {@code secret}. */
    static String credential(byte[] secret, String username) {
      try {
        Mac mac = Mac.getInstance("HmacSHA1");
        mac.init(new SecretKeySpec(secret, "HmacSHA1"));
        return Base64.getEncoder().encodeToString(mac.doFinal(username.getBytes(StandardCharsets.UTF_8)));
      } catch (NoSuchAlgorithmException | InvalidKeyException e) {
        throw new IllegalStateException("HmacSHA1 unavailable", e);
      }
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Turn t && urls.equals(t.urls) && ttlSeconds == t.ttlSeconds
          && java.security.MessageDigest.isEqual(secret, t.secret);
    }

    @Override
    public int hashCode() {
      return Objects.hash(urls, ttlSeconds);
    }

    @Override
    public String toString() {
      return "Turn[urls=" + urls + ", ttlSeconds=" + ttlSeconds + ", secret=(" + secret.length + " bytes)]";
    }
  }
}
