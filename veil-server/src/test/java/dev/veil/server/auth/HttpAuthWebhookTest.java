package dev.veil.server.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.veil.signaling.Connect;
import dev.veil.signaling.Role;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The webhook's decision rule, and the JDK HTTP shell against a loopback server. */
class HttpAuthWebhookTest {

  @Test
  void decision_onlyStatus200AndAllowedTrue() {
    assertTrue(AuthWebhook.allowed(200, "{\"allowed\":true}".getBytes(StandardCharsets.UTF_8)));
    assertFalse(AuthWebhook.allowed(200, "{\"allowed\":false}".getBytes(StandardCharsets.UTF_8)));
    assertFalse(AuthWebhook.allowed(200, "{\"allowed\":\"true\"}".getBytes(StandardCharsets.UTF_8)));
    assertFalse(AuthWebhook.allowed(200, "{}".getBytes(StandardCharsets.UTF_8)));
    assertFalse(AuthWebhook.allowed(200, "not json".getBytes(StandardCharsets.UTF_8)));
    assertFalse(AuthWebhook.allowed(201, "{\"allowed\":true}".getBytes(StandardCharsets.UTF_8)));
    assertFalse(AuthWebhook.allowed(403, "{\"allowed\":true}".getBytes(StandardCharsets.UTF_8)));
    assertFalse(AuthWebhook.allowed(200, new byte[AuthWebhook.MAX_RESPONSE_BYTES + 1]));
  }

  @Test
  void request_carriesChannelRoleMetadata_neverTheToken() {
    Connect m = new Connect(Role.RECVONLY, "room", new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode()
        .put("user", "u1"), null, false, true, true, 0, false, "secret.token.value");
    String r = AuthWebhook.request(m, "10.0.0.1");
    assertTrue(r.contains("\"channel_id\":\"room\"") && r.contains("\"role\":\"recvonly\"")
        && r.contains("\"user\":\"u1\"") && r.contains("10.0.0.1"), r);
    assertFalse(r.contains("secret.token.value") || r.contains("token"), r);
  }

  @Test
  void httpShell_postsJson_andHandsTheDecisionToTheLoop() throws Exception {
    HttpServer http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    LinkedBlockingQueue<String> bodies = new LinkedBlockingQueue<>();
    http.createContext("/hook", ex -> {
      String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      bodies.add(body);
      byte[] out = (body.contains("\"channel_id\":\"ok\"") ? "{\"allowed\":true}" : "{\"allowed\":false}")
          .getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, out.length);
      ex.getResponseBody().write(out);
      ex.close();
    });
    http.start();
    try {
      LinkedBlockingQueue<Runnable> loop = new LinkedBlockingQueue<>();
      HttpAuthWebhook hook = new HttpAuthWebhook(URI.create("http://127.0.0.1:" + http.getAddress().getPort()
          + "/hook"), Duration.ofSeconds(10), loop::add);
      CompletableFuture<Boolean> ok = new CompletableFuture<>();
      CompletableFuture<Boolean> no = new CompletableFuture<>();
      hook.ask(AuthWebhook.request(Connect.of(Role.SENDRECV, "ok", false), "127.0.0.1"), ok::complete);
      hook.ask(AuthWebhook.request(Connect.of(Role.SENDRECV, "no", false), "127.0.0.1"), no::complete);
      for (int i = 0; i < 2; i++) {
        Runnable decision = loop.poll(20, TimeUnit.SECONDS); // the decision runs only when the loop runs it
        decision.run();
      }
      assertTrue(ok.getNow(null));
      assertFalse(no.getNow(null));
      assertEquals(2, bodies.size());
    } finally {
      http.stop(0);
    }
  }
}
