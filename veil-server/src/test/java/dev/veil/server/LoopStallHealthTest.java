package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A stuck event loop (a task that never returns) is not a zombie that reports healthy: /health answers 503. */
class LoopStallHealthTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private VeilServer server;
  private final CountDownLatch release = new CountDownLatch(1);

  @AfterEach
  void stop() {
    release.countDown();
    if (server != null) {
      server.close();
    }
  }

  private HttpResponse<String> health() throws Exception {
    return HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.httpPort() + "/health")).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** Polls /health (bounded) until it answers {@code status}. */
  private HttpResponse<String> awaitHealth(int status) throws Exception {
    long deadline = System.nanoTime() + 60_000_000_000L;
    HttpResponse<String> r = health();
    while (r.statusCode() != status && System.nanoTime() < deadline) {
      java.util.concurrent.locks.LockSupport.parkNanos(50_000_000);
      r = health();
    }
    return r;
  }

  @Test
  void stuckLoop_healthAnswers503Stalled_andRecovers() throws Exception {
    server = new VeilServer(ServerConfig.defaults().withPorts(0, 0));
    server.heartbeats.stallNanos = TimeUnit.SECONDS.toNanos(2);
    server.start();
    assertEquals(200, awaitHealth(200).statusCode());
    server.runOnLoopForTesting(() -> {
      try {
        release.await(120, TimeUnit.SECONDS); // a task that does not return
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    HttpResponse<String> stalled = awaitHealth(503);
    assertEquals(503, stalled.statusCode());
    assertEquals("stalled", JSON.readTree(stalled.body()).get("status").asText());
    release.countDown();
    HttpResponse<String> ok = awaitHealth(200);
    assertEquals(200, ok.statusCode());
    assertEquals("ok", JSON.readTree(ok.body()).get("status").asText());
  }
}
