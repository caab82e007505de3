package dev.veil.server;

/** The signaling side of one WebSocket as the hub sees it; implemented over a Jetty session. */
interface WsPeer {
  /** Queues one text frame. Never blocks; safe from any thread. */
  void sendText(String text);

  /** Closes the WebSocket with a status code and a short reason. */
  void close(int code, String reason);

  /** The remote address, for logs. */
  String remote();
}
