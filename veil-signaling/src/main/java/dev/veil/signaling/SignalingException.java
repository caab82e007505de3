package dev.veil.signaling;

/** A signaling message that could not be decoded or that breaks a rule of the protocol. */
public final class SignalingException extends Exception {
  private static final long serialVersionUID = 1L;

  /** Why a message was rejected. */
  public enum Reason {
    /** Not JSON, not a JSON object, duplicate keys, too deeply nested. */
    MALFORMED_JSON,
    /** The whole message or one field is larger than allowed. */
    TOO_LARGE,
    /** The {@code type} is missing or not one of the protocol's types. */
    UNKNOWN_TYPE,
    /** A required field is absent. */
    MISSING_FIELD,
    /** A field has the wrong JSON type or a value outside its domain. */
    INVALID_FIELD,
    /** A field that this message type does not have. */
    UNKNOWN_FIELD
  }

  private final Reason reason;

  public SignalingException(Reason reason, String detail) {
    super(detail);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }

  @Override
  public String toString() {
    return "SignalingException[" + reason + ": " + getMessage() + "]";
  }
}
