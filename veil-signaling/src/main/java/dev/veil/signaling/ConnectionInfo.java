package dev.veil.signaling;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Objects;

/**
 * One member of a channel as {@link Notify} shows it.
 *
 * @param connectionId the member's connection id
 * @param role the member's role
 * @param signalingNotifyMetadata what the member gave as {@code signaling_notify_metadata}, or {@code null}
 */
public record ConnectionInfo(String connectionId, Role role, JsonNode signalingNotifyMetadata) {

  public ConnectionInfo {
    Objects.requireNonNull(connectionId, "connectionId");
    Objects.requireNonNull(role, "role");
    signalingNotifyMetadata = signalingNotifyMetadata == null ? null : signalingNotifyMetadata.deepCopy();
  }

  @Override
  public JsonNode signalingNotifyMetadata() {
    return signalingNotifyMetadata == null ? null : signalingNotifyMetadata.deepCopy();
  }
}
