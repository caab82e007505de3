package dev.veil.server;

/** The signaling side of one WebSocket as the hub sees it; implemented over a Jetty session. */
interface WsPeer {
  /**
   * Queues one text frame. Never blocks. {@code done} runs on the event loop once the frame has been written to
   * the socket, or has failed (the socket closed): either way it has left the outbound queue.
   */
  void sendText(String text, Runnable done);

  /** Closes the WebSocket with a status code and a short reason (a close frame behind the queued ones). */
  void close(int code, String reason);

  /** Drops the connection at once, without a close handshake (a client that does not read). */
  void abort();

  /** The remote address, for logs. */
  String remote();

  /** The source address key for the per-address limits ({@link Admission#addressKey}). */
  String addressKey();
}
