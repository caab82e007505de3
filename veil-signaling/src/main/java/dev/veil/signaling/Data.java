package dev.veil.signaling;

import java.util.Base64;
import java.util.Objects;

/**
 * {@code data}: an application data message (chat, app state) relayed by the server to the other members of the
 * sender's channel (docs/PROTOCOL.md §1.7). A client sends it without {@code from}, with {@code to} for one addressee
 * or without it for every other member; the server delivers it with {@code from} (the true sender, stamped by the
 * server) and the same {@code to}. In an E2EE channel the payload is an SFrame ciphertext the server cannot read.
 *
 * @param to the addressee, or {@code null} for every other member
 * @param from the sender (server to client only), else {@code null}
 * @param payload standard base64 (with padding) of the bytes
 */
public record Data(String to, String from, String payload) implements SignalingMessage {

  public Data {
    Objects.requireNonNull(payload, "payload");
  }

  /** A client's message: for {@code to}, or for everyone with {@code to == null}. */
  public static Data send(String to, String payload) {
    return new Data(to, null, payload);
  }

  /** The same message, as the server delivers it: stamped from {@code sender}. */
  public Data stampedFrom(String sender) {
    return new Data(to, sender, payload);
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
    return "data";
  }
}
