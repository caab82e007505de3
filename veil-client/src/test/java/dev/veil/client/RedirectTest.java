package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.veil.hostile.HostileRelay;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** How the Java SDK follows {@code redirect}: bounded, before the offer only (a hostile relay sends them). */
class RedirectTest {
  private ServerFixture server;
  private HostileRelay relay;

  @BeforeEach
  void start() throws Exception {
    server = new ServerFixture();
    relay = new HostileRelay(server.server.httpPort());
  }

  @AfterEach
  void stop() throws Exception {
    relay.close();
    server.close();
  }

  private static ObjectNode redirect(String location) {
    ObjectNode r = HostileRelay.JSON.createObjectNode();
    r.put("type", "redirect");
    r.put("location", location);
    return r;
  }

  @Test
  void aRedirectIsFollowedWithTheSameConnectToTheLocation() throws Exception {
    AtomicInteger connects = new AtomicInteger();
    relay.script(new HostileRelay.Script() {
      @Override
      public List<JsonNode> fromClient(HostileRelay.Link link, ObjectNode msg) {
        if (msg.path("type").asText().equals("connect")) {
          connects.incrementAndGet();
          link.toClient(redirect(server.url.toString()));
          return List.of();
        }
        return List.of(msg);
      }
    });
    TestPeer a = new TestPeer("a", relay.uri(), "room", Options.e2eeSenderKeys()).connect();
    assertEquals(1, connects.get());
    assertEquals(1, a.connection.redirectCount());
    assertEquals(server.url, a.connection.signalingUrl());
    TestPeer b = server.join("b", "room", Options.e2eeSenderKeys());
    TestPeer.exchangeUntil("a and b decode each other", List.of(a, b),
        () -> a.receivedFrom(b) >= 3 && b.receivedFrom(a) >= 3);
    a.assertReceivedExactly(b);
    b.assertReceivedExactly(a);
    a.close();
    b.close();
  }

  @Test
  void redirectsAreBoundedAndNeverFollowedAfterTheOffer() throws Exception {
    relay.script(new HostileRelay.Script() {
      @Override
      public List<JsonNode> fromClient(HostileRelay.Link link, ObjectNode msg) {
        if (msg.path("type").asText().equals("connect")) {
          link.toClient(redirect(relay.uri().toString())); // back to itself, forever
          return List.of();
        }
        return List.of(msg);
      }
    });
    Connection loop = VeilClient.connection(relay.uri()).sendrecv("room", null, Options.e2eeSenderKeys());
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> loop.connect().get(TestPeer.DEADLINE_MS, TimeUnit.MILLISECONDS));
    assertTrue(e.getCause().getMessage().startsWith("more than " + Connection.MAX_REDIRECTS + " redirects"),
        e.getCause().getMessage());
    assertEquals(Connection.MAX_REDIRECTS, loop.redirectCount());

    relay.script(new HostileRelay.Script() {
      @Override
      public List<JsonNode> fromServer(HostileRelay.Link link, ObjectNode msg) {
        if (msg.path("type").asText().equals("offer")) {
          return List.of(msg, redirect("ws://127.0.0.1:9/signaling"));
        }
        return List.of(msg);
      }
    });
    Connection late = VeilClient.connection(relay.uri()).sendrecv("room", null, Options.e2eeSenderKeys());
    ExecutionException e2 = assertThrows(ExecutionException.class,
        () -> late.connect().get(TestPeer.DEADLINE_MS, TimeUnit.MILLISECONDS));
    assertEquals("the server sent a redirect after its offer", e2.getCause().getMessage());
  }
}
