package dev.veil.signaling;

import java.util.Base64;
import java.util.Objects;

/**
 * {@code e2ee}: an opaque end-to-end encryption message relayed by the server to exactly one connection of the
 * same channel. A client sends it with {@code to} (the addressee's connection id); the server delivers it with
 * {@code from} (the true sender, stamped by the server). Exactly one of the two is set.
 *
 * @param to addressee (client to server) or {@code null}
 * @param from sender (server to client) or {@code null}
 * @param payload standard base64 (with padding) of the opaque bytes
 */
public record E2ee(String to, String from, String payload) implements SignalingMessage {

  public E2ee {
    Objects.requireNonNull(payload, "payload");
    if ((to == null) == (from == null)) {
      throw new IllegalArgumentException("exactly one of to and from must be set");
    }
  }

  /** A client's message for {@code to}. */
  public static E2ee to(String to, String payload) {
    return new E2ee(to, null, payload);
  }

  /** The server's delivery of a message from {@code from}. */
  public static E2ee from(String from, String payload) {
    return new E2ee(null, from, payload);
  }

  /** The same payload, as the server delivers it: addressed from {@code sender}. */
  public E2ee stampedFrom(String sender) {
    return new E2ee(null, sender, payload);
  }

  /** The number of bytes the payload decodes to (the payload was validated as base64 by the codec). */
  public int payloadLength() {
    int n = payload.length();
    int pad = n == 0 ? 0 : (payload.charAt(n - 1) == '=' ? (payload.charAt(n - 2) == '=' ? 2 : 1) : 0);
    return n / 4 * 3 - pad;
  }

  /** The decoded payload. */
  public byte[] payloadBytes() {
    return Base64.getDecoder().decode(payload);
  }

  @Override
  public String type() {
    return "e2ee";
  }
}
