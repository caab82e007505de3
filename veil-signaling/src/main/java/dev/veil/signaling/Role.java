package dev.veil.signaling;

/** What a connection does with media: send and receive, only send, or only receive. */
public enum Role {
  SENDRECV("sendrecv"),
  SENDONLY("sendonly"),
  RECVONLY("recvonly");

  private final String wire;

  Role(String wire) {
    this.wire = wire;
  }

  /** The JSON value, e.g. {@code "sendrecv"}. */
  public String wire() {
    return wire;
  }

  public boolean sends() {
    return this != RECVONLY;
  }

  public boolean receives() {
    return this != SENDONLY;
  }

  /** The role for a JSON value, or {@code null} if there is none. */
  public static Role fromWire(String s) {
    for (Role r : values()) {
      if (r.wire.equals(s)) {
        return r;
      }
    }
    return null;
  }
}
