package dev.veil.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * A {@link WsPeer} in memory: keeps what the hub sends; a write completes only when the test "reads" it ({@link
 * #read}), so a client that never reads is one whose writes never complete.
 */
final class FakeWs implements WsPeer {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final String address;
  /** Sent and not yet read: the text and its completion. */
  private final Deque<Object[]> unread = new ArrayDeque<>();
  final List<JsonNode> read = new ArrayList<>();
  /** Every text sent, in order (the very String objects the hub wrote). */
  final List<String> texts = new ArrayList<>();
  int closeCode = -1;
  String closeReason;
  boolean aborted;
  int sentAfterClose;

  FakeWs(String address) {
    this.address = address;
  }

  @Override
  public void sendText(String text, Runnable done) {
    if (closeCode >= 0 || aborted) {
      sentAfterClose++;
    }
    texts.add(text);
    unread.add(new Object[] {text, done});
  }

  @Override
  public void close(int code, String reason) {
    if (closeCode < 0) {
      closeCode = code;
      closeReason = reason;
    }
  }

  @Override
  public void abort() {
    aborted = true;
    // as Jetty does on disconnect: every queued write fails, i.e. completes without being read
    while (!unread.isEmpty()) {
      ((Runnable) unread.poll()[1]).run();
    }
  }

  @Override
  public String remote() {
    return address;
  }

  @Override
  public String addressKey() {
    return address;
  }

  /** Reads everything sent so far (each write completes); returns the messages. */
  List<JsonNode> read() {
    List<JsonNode> out = new ArrayList<>();
    while (!unread.isEmpty()) {
      Object[] e = unread.poll();
      try {
        out.add(JSON.readTree((String) e[0]));
      } catch (Exception x) {
        throw new AssertionError(x);
      }
      ((Runnable) e[1]).run();
    }
    read.addAll(out);
    return out;
  }

  /** Messages sent and not read. */
  int unread() {
    return unread.size();
  }

  /** The types of everything read so far. */
  List<String> types() {
    List<String> t = new ArrayList<>();
    for (JsonNode n : read) {
      t.add(n.path("type").asText());
    }
    return t;
  }
}
