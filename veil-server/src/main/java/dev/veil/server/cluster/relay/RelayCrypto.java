package dev.veil.server.cluster.relay;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The node link's keys and tags: HMAC-SHA256 throughout. A direction key binds the cluster secret to the ordered
 * pair of node ids (a datagram of A to B is no datagram of B to A, nor of A to C); a session key binds a direction
 * key to the two nonces of one handshake (a datagram of an earlier session never verifies in a later one). Tags are
 * the first {@link #TAG_LEN} bytes of the HMAC, compared in constant time. Key bytes never leave this class in a
 * string.
 */
final class RelayCrypto {
  static final int TAG_LEN = 16;
  private static final byte[] DIR_LABEL = "veil-relay-v1 direction".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] SESSION_LABEL = "veil-relay-v1 session".getBytes(StandardCharsets.US_ASCII);

  private RelayCrypto() { }

  static Mac mac(byte[] key) {
    try {
      Mac m = Mac.getInstance("HmacSHA256");
      m.init(new SecretKeySpec(key, "HmacSHA256"));
      return m;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  /** The key of datagrams from {@code from} to {@code to}. */
  static byte[] directionKey(byte[] clusterSecret, String from, String to) {
    Mac m = mac(clusterSecret);
    m.update(DIR_LABEL);
    m.update((byte) 0);
    m.update(from.getBytes(StandardCharsets.UTF_8));
    m.update((byte) 0);
    m.update(to.getBytes(StandardCharsets.UTF_8));
    return m.doFinal();
  }

  /** The session key of one direction, from its direction key and the handshake's nonces. */
  static byte[] sessionKey(byte[] directionKey, byte[] initiatorNonce, byte[] responderNonce) {
    Mac m = mac(directionKey);
    m.update(SESSION_LABEL);
    m.update(initiatorNonce);
    m.update(responderNonce);
    return m.doFinal();
  }

  /** Writes the tag of {@code buf[0, len)} at {@code buf[len, len + TAG_LEN)}; {@code scratch} has 32 bytes. */
  static void tag(Mac m, byte[] buf, int len, byte[] scratch) {
    m.update(buf, 0, len);
    doFinal(m, scratch);
    System.arraycopy(scratch, 0, buf, len, TAG_LEN);
  }

  /**
   * Whether the last {@link #TAG_LEN} bytes of {@code buf[0, len)} are the tag of the rest, compared in constant
   * time; {@code scratch} has 32 bytes.
   */
  static boolean verify(Mac m, byte[] buf, int len, byte[] scratch) {
    if (len < TAG_LEN) {
      return false;
    }
    int body = len - TAG_LEN;
    m.update(buf, 0, body);
    doFinal(m, scratch);
    int diff = 0;
    for (int i = 0; i < TAG_LEN; i++) {
      diff |= scratch[i] ^ buf[body + i];
    }
    return diff == 0;
  }

  private static void doFinal(Mac m, byte[] out) {
    try {
      m.doFinal(out, 0);
    } catch (javax.crypto.ShortBufferException e) {
      throw new IllegalStateException("HMAC output buffer too short", e);
    }
  }
}
