package dev.veil.server.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.veil.signaling.Connect;
import java.util.function.Consumer;

/**
 * The auth webhook (Sora's style, docs/PROTOCOL.md §1.7): the server POSTs a connect's {@code channel_id}, {@code
 * role}, {@code e2ee} and {@code metadata} to the operator's URL and admits the connect only if the answer is 200
 * with {@code {"allowed": true}}. Anything else, a failure or no answer within the timeout, denies. The request and
 * the decision are pure functions here; the HTTP call is {@link HttpAuthWebhook}.
 */
public interface AuthWebhook {

  /** The largest answer body read. */
  int MAX_RESPONSE_BYTES = 64 * 1024;

  /**
   * Asks about one connect; {@code decision} runs later on the caller's event loop with {@code true} to allow
   * (at most once; a timeout is the caller's).
   */
  void ask(String requestJson, Consumer<Boolean> decision);

  /** The JSON body POSTed for {@code m} (never its token). */
  static String request(Connect m, String remoteAddress) {
    ObjectNode o = JsonNodeFactory.instance.objectNode();
    o.put("channel_id", m.channelId());
    o.put("role", m.role().wire());
    o.put("e2ee", m.e2ee());
    o.put("remote_address", remoteAddress);
    if (m.metadata() != null) {
      o.set("metadata", m.metadata());
    }
    return o.toString();
  }

  /** Whether an answer allows: status 200 and a JSON object with {@code "allowed": true}. */
  static boolean allowed(int status, byte[] body) {
    if (status != 200 || body == null || body.length > MAX_RESPONSE_BYTES) {
      return false;
    }
    try {
      JsonNode n = new ObjectMapper().readTree(body);
      return n != null && n.isObject() && n.path("allowed").isBoolean() && n.path("allowed").booleanValue();
    } catch (java.io.IOException e) {
      return false;
    }
  }
}
