package dev.veil.hostile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.client.WebSocketClient;
import org.eclipse.jetty.websocket.server.WebSocketUpgradeHandler;

/**
 * TEST ONLY: the signaling half of a hostile server. A WebSocket relay on 127.0.0.1 in front of a real veil-server:
 * clients connect to {@link #uri()}, and every message in either direction goes through the {@link Script}, which
 * may pass, rewrite, drop, hold back (to release later with {@link Link#toClient}), duplicate or inject messages —
 * everything the operator of the signaling server can do. Media goes straight to the real server (whose own hand on
 * media is {@code VeilServer.setForwardTamperForTesting}).
 */
public final class HostileRelay implements AutoCloseable {
  public static final ObjectMapper JSON = new ObjectMapper();

  /** What the hostile server does with each message. The default passes everything unchanged. */
  public interface Script {
    /** The messages to deliver to {@code link}'s client in place of {@code msg}, which the real server sent. */
    default List<JsonNode> fromServer(Link link, ObjectNode msg) {
      return List.of(msg);
    }

    /** The messages to deliver to the real server in place of {@code msg}, which {@code link}'s client sent. */
    default List<JsonNode> fromClient(Link link, ObjectNode msg) {
      return List.of(msg);
    }
  }

  /** One client's signaling path through the relay. */
  public final class Link {
    private volatile Session client;
    private volatile Session upstream;
    /** The connection id the real server gave this client (from its {@code offer}), null before. */
    public volatile String connectionId;
    /** The SDP of the last offer or re-offer the real server sent this client (before the script), null before. */
    public volatile String serverSdp;

    /** Delivers {@code msg} to this link's client, as if the server sent it. */
    public void toClient(JsonNode msg) {
      Session s = client;
      if (s != null && s.isOpen()) {
        s.sendText(msg.toString(), Callback.NOOP);
      }
    }

    /** Delivers {@code msg} to the real server, as if this link's client sent it. */
    public void toServer(JsonNode msg) {
      Session s = upstream;
      if (s != null && s.isOpen()) {
        s.sendText(msg.toString(), Callback.NOOP);
      }
    }

    private void fromServer(String text) {
      ObjectNode m = parse(text);
      if (m.path("type").asText().equals("offer") && connectionId == null) {
        connectionId = m.path("connection_id").asText();
      }
      String type = m.path("type").asText();
      if ((type.equals("offer") || type.equals("re-offer")) && m.path("sdp").isTextual()) {
        serverSdp = m.path("sdp").asText();
      }
      for (JsonNode out : script.fromServer(this, m)) {
        toClient(out);
      }
    }

    private void fromClient(String text) {
      for (JsonNode out : script.fromClient(this, parse(text))) {
        toServer(out);
      }
    }

    private void closeBoth(int code, String reason) {
      Session c = client;
      Session u = upstream;
      if (c != null && c.isOpen()) {
        c.close(code, reason, Callback.NOOP);
      }
      if (u != null && u.isOpen()) {
        u.close(code, reason, Callback.NOOP);
      }
    }
  }

  /** Runs delayed deliveries in order (one thread: equal delays keep their order). */
  private final java.util.concurrent.ScheduledExecutorService later =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "hostile-relay-later");
        t.setDaemon(true);
        return t;
      });
  private final URI upstreamUri;
  private final Server jetty;
  private final ServerConnector connector;
  private final WebSocketClient upstreamClient = new WebSocketClient();
  /** Every link, in the order clients connected. */
  public final List<Link> links = new CopyOnWriteArrayList<>();
  private volatile Script script = new Script() { };

  /** A relay in front of the veil-server whose HTTP port is {@code serverHttpPort}. */
  public HostileRelay(int serverHttpPort) throws Exception {
    this.upstreamUri = URI.create("ws://127.0.0.1:" + serverHttpPort + "/signaling");
    upstreamClient.setMaxTextMessageSize(1 << 20);
    upstreamClient.start();
    jetty = new Server();
    connector = new ServerConnector(jetty, 1, 1);
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    jetty.addConnector(connector);
    ContextHandler context = new ContextHandler("/");
    WebSocketUpgradeHandler ws = WebSocketUpgradeHandler.from(jetty, context, container -> {
      container.setMaxTextMessageSize(1 << 20);
      container.setIdleTimeout(Duration.ofMinutes(2));
      container.addMapping("/signaling", (req, resp, cb) -> new ClientSide(new Link()));
    });
    context.setHandler(ws);
    jetty.setHandler(context);
    jetty.start();
  }

  /** The signaling URL clients use instead of the real server's. */
  public URI uri() {
    return URI.create("ws://127.0.0.1:" + connector.getLocalPort() + "/signaling");
  }

  /** From now on the relay acts by {@code s}. */
  public void script(Script s) {
    this.script = s;
  }

  /** Runs {@code task} after {@code millis} (tasks with the same delay run in the order they were given). */
  public void later(long millis, Runnable task) {
    later.schedule(task, millis, TimeUnit.MILLISECONDS);
  }

  /** The link of the client whose connection id is {@code id}. */
  public Link link(String id) {
    for (Link l : links) {
      if (id.equals(l.connectionId)) {
        return l;
      }
    }
    throw new IllegalArgumentException("no link for " + id);
  }

  private static ObjectNode parse(String text) {
    try {
      return (ObjectNode) JSON.readTree(text);
    } catch (Exception e) {
      throw new IllegalStateException("not a JSON object: " + text, e);
    }
  }

  /** The client's WebSocket: opens the upstream one first, then relays. */
  public final class ClientSide implements Session.Listener.AutoDemanding {
    private final Link link;

    ClientSide(Link link) {
      this.link = link;
    }

    @Override
    public void onWebSocketOpen(Session s) {
      link.client = s;
      try {
        link.upstream = upstreamClient.connect(new UpstreamSide(link), upstreamUri).get(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        s.close(1011, "relay: upstream unreachable", Callback.NOOP);
        return;
      }
      links.add(link);
    }

    @Override
    public void onWebSocketText(String text) {
      link.fromClient(text);
    }

    @Override
    public void onWebSocketClose(int code, String reason, Callback callback) {
      callback.succeed();
      link.closeBoth(code == 1005 || code == 1006 ? 1000 : code, reason);
    }
  }

  /** The relay's WebSocket to the real server for one client. */
  public final class UpstreamSide implements Session.Listener.AutoDemanding {
    private final Link link;

    UpstreamSide(Link link) {
      this.link = link;
    }

    @Override
    public void onWebSocketOpen(Session s) {
      link.upstream = s;
    }

    @Override
    public void onWebSocketText(String text) {
      link.fromServer(text);
    }

    @Override
    public void onWebSocketClose(int code, String reason, Callback callback) {
      callback.succeed();
      link.closeBoth(code == 1005 || code == 1006 ? 1000 : code, reason);
    }
  }

  @Override
  public void close() throws Exception {
    later.shutdownNow();
    jetty.stop();
    upstreamClient.stop();
  }
}
