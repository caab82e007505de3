package dev.veil.client;

import java.net.URI;

/**
 * What a {@link ReconnectingConnection} reports about its reconnects (docs/PROTOCOL.md §1.9). The browser SDK
 * emits the same as its {@code reconnecting} and {@code reconnected} events.
 */
public sealed interface ReconnectEvent {

  /**
   * The connection dropped (or the last attempt failed): attempt {@code attempt} (1, 2, ...) goes to {@code url}
   * after {@code delayMillis}.
   */
  record Reconnecting(int attempt, long delayMillis, URI url, String reason) implements ReconnectEvent { }

  /**
   * Back in the channel after {@code attempts} attempts and {@code downtimeMillis} without a connection: a new
   * connection ({@code connection}, a new connection id and, with E2EE, a new identity and new keys, as after any
   * join) on the node {@code url} (after redirects).
   */
  record Reconnected(int attempts, long downtimeMillis, URI url, Connection connection) implements ReconnectEvent { }

  /** No more attempts (a refusal that would repeat, or the attempts ran out): the connection has ended. */
  record GaveUp(int attempts, String reason) implements ReconnectEvent { }
}
