package dev.veil.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.veil.signaling.SignalingCodec;
import java.time.Duration;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.websocket.server.WebSocketUpgradeHandler;

/**
 * {@link VeilServer}'s HTTP side (Jetty): the public connector with the signaling WebSocket, {@code /health} and
 * {@code /metrics}, and the loopback-only admin connector ({@code admin.port}) when configured.
 */
final class HttpFront {
  private final Server jetty;
  private final ServerConnector connector;
  /** The loopback-only admin port ({@code admin.port}), or null. */
  private final ServerConnector adminConnector;

  /**
   * Builds the server (not yet bound): signaling WebSockets go to {@code hub} on {@code loop}; {@code health},
   * {@code scrape} and {@code adminDrain} answer {@code /health}, {@code /metrics} and {@code POST /admin/drain}.
   */
  HttpFront(ServerConfig cfg, OpsConfig ops, EventLoop loop, Hub hub, BiConsumer<String, Throwable> fail,
      Metrics metrics, Supplier<ObjectNode> health, Supplier<String> scrape, Supplier<ObjectNode> adminDrain) {
    QueuedThreadPool pool = new QueuedThreadPool(64, 4);
    pool.setName("veil-http");
    jetty = new Server(pool);
    connector = new ServerConnector(jetty, 1, 1);
    connector.setHost(cfg.httpBindAddress());
    connector.setPort(cfg.httpPort());
    jetty.addConnector(connector);
    if (ops.adminPort() >= 0) {
      adminConnector = new ServerConnector(jetty, 1, 1);
      adminConnector.setHost(ops.adminBindAddress()); // a loopback address (checked by OpsConfig)
      adminConnector.setPort(ops.adminPort());
      jetty.addConnector(adminConnector);
    } else {
      adminConnector = null;
    }
    ContextHandler context = new ContextHandler("/");
    WebSocketUpgradeHandler ws = WebSocketUpgradeHandler.from(jetty, context, container -> {
      // Text is read in parts and bounded by SignalingEndpoint (the limit below only applies to whole messages).
      container.setMaxTextMessageSize(SignalingCodec.MAX_MESSAGE_CHARS * 4L);
      container.setMaxBinaryMessageSize(1024);
      // Belt and braces behind the hub's own outbound bound (Outbound): Jetty never queues more frames than this.
      container.setMaxOutgoingFrames(cfg.guards().outboundMaxMessages() + 64);
      container.setIdleTimeout(Duration.ofSeconds(
          (long) cfg.pingIntervalSeconds() * (cfg.maxMissedPongs() + 2) + cfg.signalingTimeoutSeconds()));
      container.addMapping("/signaling",
          (req, resp, cb) -> new SignalingEndpoint(loop, hub, fail, metrics.signaling));
    });
    ws.setHandler(new WebHandler(health, scrape, adminConnector, adminDrain));
    context.setHandler(ws);
    // HTTP request timings (method, status, outcome: no path, so no unbounded label)
    io.micrometer.jetty12.server.TimedHandler timed =
        new io.micrometer.jetty12.server.TimedHandler(metrics.registry(), io.micrometer.core.instrument.Tags.empty());
    timed.setHandler(context);
    jetty.setHandler(timed);
    metrics.bindJetty(jetty, pool);
    jetty.setStopTimeout(2000);
  }

  /** Binds the public port early (its bound port is part of a cluster node's default signaling URL). */
  void openPublicPort() throws java.io.IOException {
    connector.open();
  }

  /** Binds whatever is not bound yet and starts serving. */
  void start() throws Exception {
    jetty.start();
  }

  /** Stops serving; Jetty closes the WebSockets still open with its own 1001. */
  void stop() throws Exception {
    jetty.stop();
  }

  /** The bound HTTP port. */
  int httpPort() {
    return connector.getLocalPort();
  }

  /** The bound admin port, or -1 without one. */
  int adminPort() {
    return adminConnector == null ? -1 : adminConnector.getLocalPort();
  }
}
