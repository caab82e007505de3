package dev.veil.server;

import dev.veil.server.cluster.ChannelBus;
import dev.veil.server.cluster.ClusterConfig;
import dev.veil.server.cluster.RedisChannelBus;
import dev.veil.server.cluster.relay.RelayBudget;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How {@link VeilServer} turns the cascade on (docs/PROTOCOL.md §1.9.3; {@code cluster.relay_secret} set): the
 * channels' bus on Redis pub/sub and the node links, on sockets of the RTC bind address announced as the announced
 * address, driven on the channels' media lanes.
 */
final class CascadeWiring {
  private static final Logger LOG = LoggerFactory.getLogger(VeilServer.class);

  private CascadeWiring() { }

  /** Connects the bus and enables the cascade in the hub (on its loop); returns the bus (closed by the server). */
  static ChannelBus enable(ClusterConfig cc, ServerConfig cfg, EventLoop loop, Hub hub, RtcMedia media,
      RelayBudget.Limits budget) {
    java.net.InetAddress bind;
    try {
      bind = java.net.InetAddress.getByName(cfg.rtcBindAddress());
    } catch (java.net.UnknownHostException e) {
      throw new IllegalStateException("rtc bind address " + cfg.rtcBindAddress() + ": " + e.getMessage(), e);
    }
    ChannelBus bus = new RedisChannelBus(cc.redisUrl(), cc.keyPrefix(), cc.nodeId(),
        Duration.ofMillis(cc.redisTimeoutMillis()));
    try {
      loop.call(() -> {
        hub.enableCascade(bus, cc.nodeId(), cc.relaySecret(), bind, cfg.announcedAddress(), media::onChannelLane,
            budget);
        return null;
      }, 5000);
    } catch (RuntimeException e) {
      bus.close();
      throw e;
    }
    LOG.info("cluster: cascade on (node links keyed by cluster.relay_secret)");
    return bus;
  }

  /** Closes every node link now (a crash or a fatal error: no orderly shutdown of the hub follows). */
  static void closeLinks(EventLoop loop, Hub hub) {
    try {
      loop.call(() -> {
        if (hub.cascade != null) {
          hub.cascade.close();
        }
        return null;
      }, 5000);
    } catch (RuntimeException e) {
      LOG.warn("shutdown: closing the cascade's links failed ({})", e.toString());
    }
  }
}
