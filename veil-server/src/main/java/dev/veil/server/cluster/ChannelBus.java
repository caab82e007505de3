package dev.veil.server.cluster;

import java.util.function.Consumer;

/**
 * The signaling relay of a cascaded channel between its nodes (docs/PROTOCOL.md §1.9.3): each node publishes what
 * its members say that the channel's members on other nodes must hear ({@code notify} of joins, leaves and tracks,
 * and the members' {@code e2ee}/{@code data} relay messages, addressed by connection id and opaque: E2EE key messages
 * are ciphertext for their recipient, so no node ever holds a key). Every message carries the epoch of the
 * channel's lease it was sent under; a receiver drops a message of an older epoch than the newest it has seen for
 * the channel (a fenced-off owner's, §1.9.4) and its own node's.
 *
 * <p>Handlers run on the bus's delivery thread: hand the message to the hub's loop.
 */
public interface ChannelBus extends AutoCloseable {
  /** Longest message body relayed (UTF-8 characters of JSON); longer ones are refused before they are sent. */
  int MAX_BODY_CHARS = 64 * 1024;

  /** One relayed message. */
  record Message(String channelId, long epoch, String fromNode, String body) { }

  /** Starts delivering {@code channelId}'s messages of other nodes to {@code handler}. */
  void subscribe(String channelId, Consumer<Message> handler);

  /** Stops delivering {@code channelId}'s messages. */
  void unsubscribe(String channelId);

  /** Relays {@code body} to the channel's other nodes under lease epoch {@code epoch}; false if refused. */
  boolean publish(String channelId, long epoch, String body);

  /** Messages dropped on receipt: an older epoch, malformed, or too long. */
  long dropped();

  @Override
  void close();
}
