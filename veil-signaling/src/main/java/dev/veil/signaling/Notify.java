package dev.veil.signaling;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Objects;

/**
 * {@code notify}: a member joined ({@code connection.created}) or left ({@code connection.destroyed}).
 *
 * <p>Every member gets one for every other member's arrival and departure. The newcomer also gets one for its own
 * arrival, whose {@code data} lists the members that were already there.
 *
 * @param eventType what happened
 * @param connectionId who joined or left
 * @param role that member's role
 * @param signalingNotifyMetadata that member's {@code signaling_notify_metadata}, or {@code null}
 * @param data for the newcomer's own {@code connection.created}: the members already in the channel; else
 *     {@code null}
 * @param channelConnections how many connections the channel has after the event
 */
public record Notify(EventType eventType, String connectionId, Role role, JsonNode signalingNotifyMetadata,
    List<ConnectionInfo> data, int channelConnections) implements SignalingMessage {

  /** The notify events. */
  public enum EventType {
    CONNECTION_CREATED("connection.created"),
    CONNECTION_DESTROYED("connection.destroyed");

    private final String wire;

    EventType(String wire) {
      this.wire = wire;
    }

    public String wire() {
      return wire;
    }

    static EventType fromWire(String s) {
      for (EventType e : values()) {
        if (e.wire.equals(s)) {
          return e;
        }
      }
      return null;
    }
  }

  public Notify {
    Objects.requireNonNull(eventType, "eventType");
    Objects.requireNonNull(connectionId, "connectionId");
    Objects.requireNonNull(role, "role");
    signalingNotifyMetadata = signalingNotifyMetadata == null ? null : signalingNotifyMetadata.deepCopy();
    data = data == null ? null : List.copyOf(data);
  }

  @Override
  public JsonNode signalingNotifyMetadata() {
    return signalingNotifyMetadata == null ? null : signalingNotifyMetadata.deepCopy();
  }

  @Override
  public String type() {
    return "notify";
  }
}
