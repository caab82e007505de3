package dev.veil.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.security.SecureRandom;
import java.util.List;

/**
 * The hub tests' common set-up: a {@link Hub} in memory on a {@link ManualScheduler}, with media that offers a
 * placeholder SDP and publishes nothing ({@link #MEDIA}), fake sockets from distinct addresses, and the
 * connect/offer/answer round trip.
 */
final class HubFixture {
  /** Media that offers a placeholder and publishes nothing. */
  static final Media MEDIA = (id, channel, role, audio, video, onFailed) -> new Media.Peer() {
    @Override
    public String offer(List<Media.Track> receive) {
      return "v=0\r\ns=-\r\n";
    }

    @Override
    public List<Media.Track> answer(String sdp) {
      return List.of();
    }

    @Override
    public void restartIce() {}

    @Override
    public void close() {}
  };

  final ManualScheduler clock = new ManualScheduler();
  final Stats stats = new Stats();
  private int sockets;

  /** A hub on this fixture's clock and stats. */
  Hub hub(ServerConfig cfg) {
    return hub(cfg, stats);
  }

  /** A hub on this fixture's clock with stats of its own (several hubs, one clock). */
  Hub hub(ServerConfig cfg, Stats own) {
    return new Hub(clock, cfg, own, MEDIA, new ConnectionIds(new SecureRandom()));
  }

  /** A fake socket from the next address (10.0.0.1, 10.0.0.2, ...). */
  FakeWs socket() {
    return new FakeWs("10.0.0." + (++sockets));
  }

  /** {@code ws} opened on {@code hub}, the hub's work done. */
  Conn open(Hub hub, FakeWs ws) {
    Conn c = hub.opened(ws);
    clock.runDue();
    return c;
  }

  /**
   * Sends {@code connectJson} on {@code c}; if the hub offers, answers (a placeholder SDP). Returns what the socket
   * read in reply to the connect (the offer first, or a refusal); what came after the answer is left unread.
   */
  List<JsonNode> connect(Hub hub, Conn c, FakeWs ws, String connectJson) {
    hub.text(c, connectJson);
    clock.runDue();
    List<JsonNode> got = ws.read();
    if (!got.isEmpty() && got.get(0).path("type").asText().equals("offer")) {
      hub.text(c, "{\"type\":\"answer\",\"sdp\":\"v=0\\r\\n\"}");
      clock.runDue();
    }
    return got;
  }

  /**
   * Reads {@code ws} until the hub has nothing more for it (a write completes on the loop; what the hub queued
   * behind it goes out then); everything it ever read.
   */
  List<JsonNode> readAll(FakeWs ws) {
    while (!ws.read().isEmpty()) {
      clock.runDue();
    }
    return ws.read;
  }
}
