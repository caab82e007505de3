package dev.veil.signaling;

import java.util.Base64;
import java.util.Objects;

/**
 * {@code mls_event}: the delivery service telling one connection of an MLS-mode channel what to do
 * (docs/PROTOCOL.md §4).
 *
 * <ul>
 *   <li>{@code create}: no group exists; this connection founds it at epoch 0 with {@code group_id}.</li>
 *   <li>{@code join}: a group exists (or is being founded); publish a key package and wait for a Welcome.</li>
 *   <li>{@code refused}: the handshake message this connection sent for {@code epoch} was not accepted;
 *       {@code reason} says why (a commit for an epoch that already has its commit, a stale epoch, ...).</li>
 * </ul>
 *
 * @param event create, join or refused
 * @param groupId standard base64 of the group id (create and join), else null
 * @param epoch the epoch of the refused message (refused), else -1
 * @param reason why (refused), else null
 * @param externalSender standard base64 of the server's RFC 9420 {@code ExternalSender} (create, optional), else null
 */
public record MlsEvent(String event, String groupId, long epoch, String reason, String externalSender)
    implements SignalingMessage {
  public static final String CREATE = "create";
  public static final String JOIN = "join";
  public static final String REFUSED = "refused";

  public MlsEvent {
    Objects.requireNonNull(event, "event");
    if (!event.equals(CREATE) && !event.equals(JOIN) && !event.equals(REFUSED)) {
      throw new IllegalArgumentException("unknown mls_event '" + event + "'");
    }
  }

  public MlsEvent(String event, String groupId, long epoch, String reason) {
    this(event, groupId, epoch, reason, null);
  }

  public static MlsEvent create(byte[] groupId) {
    return new MlsEvent(CREATE, Base64.getEncoder().encodeToString(groupId), -1, null);
  }

  /** {@code create} offering the server's external sender (docs/PROTOCOL.md §4.8). */
  public static MlsEvent create(byte[] groupId, byte[] externalSender) {
    return new MlsEvent(CREATE, Base64.getEncoder().encodeToString(groupId), -1, null,
        externalSender == null ? null : Base64.getEncoder().encodeToString(externalSender));
  }

  public byte[] externalSenderBytes() {
    return externalSender == null ? null : Base64.getDecoder().decode(externalSender);
  }

  public static MlsEvent join(byte[] groupId) {
    return new MlsEvent(JOIN, Base64.getEncoder().encodeToString(groupId), -1, null);
  }

  public static MlsEvent refused(long epoch, String reason) {
    return new MlsEvent(REFUSED, null, epoch, reason);
  }

  public byte[] groupIdBytes() {
    return groupId == null ? null : Base64.getDecoder().decode(groupId);
  }

  @Override
  public String type() {
    return "mls_event";
  }
}
