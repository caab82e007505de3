package dev.veil.signaling;

/**
 * {@code ice-restart}: client to server, asks for an ICE restart. The server (ICE lite, which never restarts on its
 * own) makes new local ICE credentials and sends a {@link ReOffer} carrying them; the client answers with a
 * {@link ReAnswer} carrying its own new credentials. Has only the type.
 */
public record IceRestart() implements SignalingMessage {
  @Override
  public String type() {
    return "ice-restart";
  }
}
