package dev.veil.server;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import java.io.File;

/**
 * veil-server's configuration: the embedded {@code reference.conf} overlaid with an optional HOCON file.
 *
 * @param e2ee whether E2EE channels are allowed (Sora's {@code e2ee} switch)
 * @param httpPort TCP port of HTTP and WebSocket signaling, 0 for an ephemeral one
 * @param httpBindAddress address HTTP binds to
 * @param rtcPort the one UDP port of all media, 0 for an ephemeral one
 * @param rtcBindAddress address the UDP socket binds to
 * @param announcedAddress address of the ICE host candidate
 * @param pingIntervalSeconds seconds between server pings
 * @param maxMissedPongs pings without pong before the server closes a connection
 * @param maxConnectionsPerChannel most connections in one channel
 * @param maxChannels most channels
 * @param maxConnections most WebSockets
 * @param signalingTimeoutSeconds seconds to send connect after opening, or to answer an (re-)offer
 * @param e2eePayloadMaxBytes largest decoded e2ee payload
 * @param e2eeMessagesPerSecond sustained e2ee messages per second per sender
 * @param e2eeBurst e2ee burst per sender
 * @param dtlsHandshakeThreads threads that run DTLS handshakes (BouncyCastle's handshake blocks a thread); more
 *     handshakes wait in a queue of at most {@code maxConnections}, and a stalled one holds its thread at most
 *     {@code dtlsHandshakeTimeoutSeconds}
 * @param dtlsHandshakeTimeoutSeconds seconds from a connection's first DTLS datagram (queueing included) to the end
 *     of its handshake
 */
public record ServerConfig(boolean e2ee, int httpPort, String httpBindAddress, int rtcPort, String rtcBindAddress,
    String announcedAddress, int pingIntervalSeconds, int maxMissedPongs, int maxConnectionsPerChannel,
    int maxChannels, int maxConnections, int signalingTimeoutSeconds, int e2eePayloadMaxBytes,
    int e2eeMessagesPerSecond, int e2eeBurst, int dtlsHandshakeThreads, int dtlsHandshakeTimeoutSeconds) {

  /** Thrown for a configuration file that cannot be read or holds a bad value. */
  public static final class ConfigurationException extends Exception {
    private static final long serialVersionUID = 1L;

    public ConfigurationException(String message) {
      super(message);
    }
  }

  /** The embedded defaults. */
  public static ServerConfig defaults() {
    try {
      return load(null);
    } catch (ConfigurationException e) {
      throw new IllegalStateException("the embedded reference.conf is broken", e);
    }
  }

  /** The defaults overlaid with {@code file} (if not null). */
  public static ServerConfig load(File file) throws ConfigurationException {
    Config ref = ConfigFactory.parseResources(ServerConfig.class.getClassLoader(), "reference.conf");
    Config c = ref;
    if (file != null) {
      if (!file.isFile()) {
        throw new ConfigurationException("config file not found: " + file);
      }
      try {
        c = ConfigFactory.parseFile(file, ConfigParseOptions.defaults().setAllowMissing(false)).withFallback(ref)
            .resolve();
      } catch (ConfigException e) {
        throw new ConfigurationException("bad config file " + file + ": " + e.getMessage());
      }
    }
    try {
      return new ServerConfig(
          c.getBoolean("e2ee"),
          port(c, "http_port"),
          c.getString("http_bind_address"),
          port(c, "rtc_port"),
          c.getString("rtc_bind_address"),
          c.getString("announced_address"),
          range(c, "ping_interval_seconds", 1, 3600),
          range(c, "max_missed_pongs", 1, 100),
          range(c, "limits.max_connections_per_channel", 1, 10_000),
          range(c, "limits.max_channels", 1, 1_000_000),
          range(c, "limits.max_connections", 1, 1_000_000),
          range(c, "limits.signaling_timeout_seconds", 1, 3600),
          range(c, "limits.e2ee_payload_max_bytes", 16, 48 * 1024),
          range(c, "limits.e2ee_messages_per_second", 1, 100_000),
          range(c, "limits.e2ee_burst", 1, 1_000_000),
          range(c, "limits.dtls_handshake_threads", 1, 1024),
          range(c, "limits.dtls_handshake_timeout_seconds", 1, 60));
    } catch (ConfigException e) {
      throw new ConfigurationException("bad configuration: " + e.getMessage());
    }
  }

  /** This configuration with other ports. */
  public ServerConfig withPorts(Integer http, Integer rtc) {
    return new ServerConfig(e2ee, http == null ? httpPort : http, httpBindAddress, rtc == null ? rtcPort : rtc,
        rtcBindAddress, announcedAddress, pingIntervalSeconds, maxMissedPongs, maxConnectionsPerChannel, maxChannels,
        maxConnections, signalingTimeoutSeconds, e2eePayloadMaxBytes, e2eeMessagesPerSecond, e2eeBurst,
        dtlsHandshakeThreads, dtlsHandshakeTimeoutSeconds);
  }

  /** This configuration with the e2ee switch set to {@code on}. */
  public ServerConfig withE2ee(boolean on) {
    return new ServerConfig(on, httpPort, httpBindAddress, rtcPort, rtcBindAddress, announcedAddress,
        pingIntervalSeconds, maxMissedPongs, maxConnectionsPerChannel, maxChannels, maxConnections,
        signalingTimeoutSeconds, e2eePayloadMaxBytes, e2eeMessagesPerSecond, e2eeBurst, dtlsHandshakeThreads,
        dtlsHandshakeTimeoutSeconds);
  }

  /** This configuration with another DTLS handshake pool size and timeout. */
  public ServerConfig withDtlsHandshakes(int threads, int timeoutSeconds) {
    return new ServerConfig(e2ee, httpPort, httpBindAddress, rtcPort, rtcBindAddress, announcedAddress,
        pingIntervalSeconds, maxMissedPongs, maxConnectionsPerChannel, maxChannels, maxConnections,
        signalingTimeoutSeconds, e2eePayloadMaxBytes, e2eeMessagesPerSecond, e2eeBurst, threads, timeoutSeconds);
  }

  private static int port(Config c, String key) throws ConfigurationException {
    return range(c, key, 0, 65535);
  }

  private static int range(Config c, String key, int min, int max) throws ConfigurationException {
    int v = c.getInt(key);
    if (v < min || v > max) {
      throw new ConfigurationException(key + " = " + v + " is outside " + min + ".." + max);
    }
    return v;
  }
}
