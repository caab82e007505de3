package dev.veil.server;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import dev.veil.server.auth.AuthConfig;
import dev.veil.signaling.SignalingCodec;
import java.io.File;
import java.io.IOException;
import java.nio.file.Path;

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
 * @param maxConnections most joined connections (sockets that sent connect)
 * @param signalingTimeoutSeconds seconds to answer an (re-)offer
 * @param e2eePayloadMaxBytes largest decoded e2ee payload
 * @param e2eeMessagesPerSecond sustained e2ee messages per second per sender
 * @param e2eeBurst e2ee burst per sender
 * @param guards the abuse limits: admission, outbound queues, write stalls, signaling rate ({@link Guards})
 * @param auth who may connect: open (the default) or access tokens ({@link AuthConfig}, {@code auth { ... }})
 * @param net ICE-TCP port and TURN servers for clients behind restrictive networks ({@link NetConfig})
 * @param mediaLoops media event loops (threads, each with its own UDP socket on the one port), 0 = one per
 *     available processor ({@link #mediaLoopCount()})
 * @param egressSpread whether a media loop sends through the other loops' sockets too ({@link EgressSpread}:
 *     {@code auto} only while the loop is busy, {@code on}, {@code off})
 */
public record ServerConfig(boolean e2ee, int httpPort, String httpBindAddress, int rtcPort, String rtcBindAddress,
    String announcedAddress, int pingIntervalSeconds, int maxMissedPongs, int maxConnectionsPerChannel,
    int maxChannels, int maxConnections, int signalingTimeoutSeconds, int e2eePayloadMaxBytes,
    int e2eeMessagesPerSecond, int e2eeBurst, Guards guards, AuthConfig auth, NetConfig net, int mediaLoops,
    EgressSpread egressSpread) {

  /** Most media loops a configuration may ask for. */
  public static final int MAX_MEDIA_LOOPS = 256;

  public ServerConfig {
    java.util.Objects.requireNonNull(guards, "guards");
    java.util.Objects.requireNonNull(auth, "auth");
    java.util.Objects.requireNonNull(net, "net");
    java.util.Objects.requireNonNull(egressSpread, "egressSpread");
    if (mediaLoops < 0 || mediaLoops > MAX_MEDIA_LOOPS) {
      throw new IllegalArgumentException("mediaLoops must be 0.." + MAX_MEDIA_LOOPS);
    }
  }

  /** The configuration before media loops were configurable: one per available processor. */
  public ServerConfig(boolean e2ee, int httpPort, String httpBindAddress, int rtcPort, String rtcBindAddress,
      String announcedAddress, int pingIntervalSeconds, int maxMissedPongs, int maxConnectionsPerChannel,
      int maxChannels, int maxConnections, int signalingTimeoutSeconds, int e2eePayloadMaxBytes,
      int e2eeMessagesPerSecond, int e2eeBurst, Guards guards, AuthConfig auth, NetConfig net) {
    this(e2ee, httpPort, httpBindAddress, rtcPort, rtcBindAddress, announcedAddress, pingIntervalSeconds,
        maxMissedPongs, maxConnectionsPerChannel, maxChannels, maxConnections, signalingTimeoutSeconds,
        e2eePayloadMaxBytes, e2eeMessagesPerSecond, e2eeBurst, guards, auth, net, 0, EgressSpread.AUTO);
  }

  /** The number of media loops to run: {@link #mediaLoops()}, or the available processors for 0. */
  public int mediaLoopCount() {
    return mediaLoops > 0 ? mediaLoops
        : Math.max(1, Math.min(MAX_MEDIA_LOOPS, Runtime.getRuntime().availableProcessors()));
  }

  /** This configuration with another egress spreading ({@link EgressSpread}). */
  public ServerConfig withEgressSpread(EgressSpread spread) {
    return new ServerConfig(e2ee, httpPort, httpBindAddress, rtcPort, rtcBindAddress, announcedAddress,
        pingIntervalSeconds, maxMissedPongs, maxConnectionsPerChannel, maxChannels, maxConnections,
        signalingTimeoutSeconds, e2eePayloadMaxBytes, e2eeMessagesPerSecond, e2eeBurst, guards, auth, net, mediaLoops,
        spread);
  }

  /** This configuration with {@code n} media loops (0: one per available processor). */
  public ServerConfig withMediaLoops(int n) {
    return new ServerConfig(e2ee, httpPort, httpBindAddress, rtcPort, rtcBindAddress, announcedAddress,
        pingIntervalSeconds, maxMissedPongs, maxConnectionsPerChannel, maxChannels, maxConnections,
        signalingTimeoutSeconds, e2eePayloadMaxBytes, e2eeMessagesPerSecond, e2eeBurst, guards, auth, net, n, egressSpread);
  }

  /** The configuration before ICE-TCP and TURN existed: neither. */
  public ServerConfig(boolean e2ee, int httpPort, String httpBindAddress, int rtcPort, String rtcBindAddress,
      String announcedAddress, int pingIntervalSeconds, int maxMissedPongs, int maxConnectionsPerChannel,
      int maxChannels, int maxConnections, int signalingTimeoutSeconds, int e2eePayloadMaxBytes,
      int e2eeMessagesPerSecond, int e2eeBurst, Guards guards, AuthConfig auth) {
    this(e2ee, httpPort, httpBindAddress, rtcPort, rtcBindAddress, announcedAddress, pingIntervalSeconds,
        maxMissedPongs, maxConnectionsPerChannel, maxChannels, maxConnections, signalingTimeoutSeconds,
        e2eePayloadMaxBytes, e2eeMessagesPerSecond, e2eeBurst, guards, auth, NetConfig.off());
  }

  /** The configuration before access tokens existed: open. */
  public ServerConfig(boolean e2ee, int httpPort, String httpBindAddress, int rtcPort, String rtcBindAddress,
      String announcedAddress, int pingIntervalSeconds, int maxMissedPongs, int maxConnectionsPerChannel,
      int maxChannels, int maxConnections, int signalingTimeoutSeconds, int e2eePayloadMaxBytes,
      int e2eeMessagesPerSecond, int e2eeBurst, Guards guards) {
    this(e2ee, httpPort, httpBindAddress, rtcPort, rtcBindAddress, announcedAddress, pingIntervalSeconds,
        maxMissedPongs, maxConnectionsPerChannel, maxChannels, maxConnections, signalingTimeoutSeconds,
        e2eePayloadMaxBytes, e2eeMessagesPerSecond, e2eeBurst, guards, AuthConfig.open());
  }

  /**
   * The limits that keep one client (or one address) from taking the server down (docs/PROTOCOL.md §1.6,
   * docs/SECURITY.md §5).
   *
   * @param connectTimeoutSeconds seconds a new WebSocket has to send {@code connect}
   * @param maxPendingSockets most WebSockets that have not sent {@code connect} yet (the oldest is evicted)
   * @param maxPendingSocketsPerAddress most such WebSockets from one source address (an IPv6 /64 counts as one)
   * @param maxConnectionsPerAddress most joined connections from one source address
   * @param outboundMaxBytes most bytes queued to one WebSocket and not yet written
   * @param outboundMaxMessages most messages queued to one WebSocket and not yet written
   * @param writeStallTimeoutSeconds seconds queued bytes may go without any write completing
   * @param signalingMessagesPerSecond sustained messages per second a WebSocket may send
   * @param signalingBurst messages a WebSocket may send at once
   * @param outboundTotalMaxBytes most bytes queued to all WebSockets together (past it the largest queue is dropped)
   * @param dtlsHandshakeThreads threads that run DTLS handshakes (BouncyCastle's handshake blocks a thread); more
   *     handshakes wait in a queue of at most {@code maxConnections}, and a stalled one holds its thread at most
   *     {@code dtlsHandshakeTimeoutSeconds}
   * @param dtlsHandshakeTimeoutSeconds seconds from a connection's first DTLS datagram (queueing included) to the
   *     end of its handshake
   */
  public record Guards(int connectTimeoutSeconds, int maxPendingSockets, int maxPendingSocketsPerAddress,
      int maxConnectionsPerAddress, int outboundMaxBytes, int outboundMaxMessages, int writeStallTimeoutSeconds,
      int signalingMessagesPerSecond, int signalingBurst, int outboundTotalMaxBytes, int dtlsHandshakeThreads,
      int dtlsHandshakeTimeoutSeconds) {

    /** The embedded defaults. */
    public static Guards defaults() {
      return ServerConfig.defaults().guards();
    }

    public Guards withConnectTimeoutSeconds(int v) {
      return new Guards(v, maxPendingSockets, maxPendingSocketsPerAddress, maxConnectionsPerAddress,
          outboundMaxBytes, outboundMaxMessages, writeStallTimeoutSeconds, signalingMessagesPerSecond,
          signalingBurst, outboundTotalMaxBytes, dtlsHandshakeThreads, dtlsHandshakeTimeoutSeconds);
    }

    public Guards withPending(int max, int perAddress) {
      return new Guards(connectTimeoutSeconds, max, perAddress, maxConnectionsPerAddress, outboundMaxBytes,
          outboundMaxMessages, writeStallTimeoutSeconds, signalingMessagesPerSecond, signalingBurst,
          outboundTotalMaxBytes, dtlsHandshakeThreads, dtlsHandshakeTimeoutSeconds);
    }

    public Guards withMaxConnectionsPerAddress(int v) {
      return new Guards(connectTimeoutSeconds, maxPendingSockets, maxPendingSocketsPerAddress, v, outboundMaxBytes,
          outboundMaxMessages, writeStallTimeoutSeconds, signalingMessagesPerSecond, signalingBurst,
          outboundTotalMaxBytes, dtlsHandshakeThreads, dtlsHandshakeTimeoutSeconds);
    }

    public Guards withOutbound(int maxBytes, int maxMessages, int stallSeconds) {
      return new Guards(connectTimeoutSeconds, maxPendingSockets, maxPendingSocketsPerAddress,
          maxConnectionsPerAddress, maxBytes, maxMessages, stallSeconds, signalingMessagesPerSecond,
          signalingBurst, outboundTotalMaxBytes, dtlsHandshakeThreads, dtlsHandshakeTimeoutSeconds);
    }

    public Guards withSignalingRate(int perSecond, int burst) {
      return new Guards(connectTimeoutSeconds, maxPendingSockets, maxPendingSocketsPerAddress,
          maxConnectionsPerAddress, outboundMaxBytes, outboundMaxMessages, writeStallTimeoutSeconds, perSecond,
          burst, outboundTotalMaxBytes, dtlsHandshakeThreads, dtlsHandshakeTimeoutSeconds);
    }

    public Guards withOutboundTotalMaxBytes(int v) {
      return new Guards(connectTimeoutSeconds, maxPendingSockets, maxPendingSocketsPerAddress,
          maxConnectionsPerAddress, outboundMaxBytes, outboundMaxMessages, writeStallTimeoutSeconds,
          signalingMessagesPerSecond, signalingBurst, v, dtlsHandshakeThreads, dtlsHandshakeTimeoutSeconds);
    }
  
    public Guards withDtlsHandshakes(int threads, int timeoutSeconds) {
      return new Guards(connectTimeoutSeconds, maxPendingSockets, maxPendingSocketsPerAddress,
          maxConnectionsPerAddress, outboundMaxBytes, outboundMaxMessages, writeStallTimeoutSeconds,
          signalingMessagesPerSecond, signalingBurst, outboundTotalMaxBytes, threads, timeoutSeconds);
    }
  }

  /** The configuration before the abuse limits existed, with the default {@link Guards}. */
  public ServerConfig(boolean e2ee, int httpPort, String httpBindAddress, int rtcPort, String rtcBindAddress,
      String announcedAddress, int pingIntervalSeconds, int maxMissedPongs, int maxConnectionsPerChannel,
      int maxChannels, int maxConnections, int signalingTimeoutSeconds, int e2eePayloadMaxBytes,
      int e2eeMessagesPerSecond, int e2eeBurst) {
    this(e2ee, httpPort, httpBindAddress, rtcPort, rtcBindAddress, announcedAddress, pingIntervalSeconds,
        maxMissedPongs, maxConnectionsPerChannel, maxChannels, maxConnections, signalingTimeoutSeconds,
        e2eePayloadMaxBytes, e2eeMessagesPerSecond, e2eeBurst, Guards.defaults());
  }

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
    Config c = parse(file);
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
          new Guards(
              range(c, "limits.connect_timeout_seconds", 1, 3600),
              range(c, "limits.max_pending_sockets", 1, 1_000_000),
              range(c, "limits.max_pending_sockets_per_address", 1, 1_000_000),
              range(c, "limits.max_connections_per_address", 1, 1_000_000),
              range(c, "limits.outbound_max_bytes", 2 * SignalingCodec.MAX_MESSAGE_CHARS, 1 << 30),
              range(c, "limits.outbound_max_messages", 16, 1_000_000),
              range(c, "limits.write_stall_timeout_seconds", 1, 3600),
              range(c, "limits.signaling_messages_per_second", 1, 100_000),
              range(c, "limits.signaling_burst", 1, 1_000_000),
              range(c, "limits.outbound_total_max_bytes", 2 * SignalingCodec.MAX_MESSAGE_CHARS, Integer.MAX_VALUE),
              range(c, "limits.dtls_handshake_threads", 1, 1024),
              range(c, "limits.dtls_handshake_timeout_seconds", 1, 60)),
          auth(c),
          net(c),
          range(c, "media_loops", 0, MAX_MEDIA_LOOPS),
          egressSpread(c));
    } catch (ConfigException e) {
      throw new ConfigurationException("bad configuration: " + e.getMessage());
    }
  }

  /** The embedded {@code reference.conf} overlaid with {@code file} (if not null), unchecked. */
  static Config parse(File file) throws ConfigurationException {
    Config ref = ConfigFactory.parseResources(ServerConfig.class.getClassLoader(), "reference.conf");
    Config c;
    try {
      c = ref.resolve(); // ${?VEIL_MEDIA_LOOPS}
    } catch (ConfigException e) {
      throw new ConfigurationException("bad configuration: " + e.getMessage());
    }
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
    return c;
  }

  /**
   * This configuration with other ports. An ephemeral UDP port ({@code rtc} = 0) makes an enabled ICE-TCP port
   * ephemeral too (tests and several servers on one machine; {@link #withRtcTcpPort} sets it on its own).
   */
  public ServerConfig withPorts(Integer http, Integer rtc) {
    NetConfig net = rtc != null && rtc == 0 && this.net.rtcTcpPort() > 0 ? this.net.withRtcTcpPort(0) : this.net;
    return new ServerConfig(e2ee, http == null ? httpPort : http, httpBindAddress, rtc == null ? rtcPort : rtc,
        rtcBindAddress, announcedAddress, pingIntervalSeconds, maxMissedPongs, maxConnectionsPerChannel, maxChannels,
        maxConnections, signalingTimeoutSeconds, e2eePayloadMaxBytes, e2eeMessagesPerSecond, e2eeBurst, guards, auth, net, mediaLoops, egressSpread);
  }

  /** This configuration with the UDP media socket bound to, and announcing, {@code address}. */
  public ServerConfig withRtcAddress(String address) {
    return new ServerConfig(e2ee, httpPort, httpBindAddress, rtcPort, address, address, pingIntervalSeconds,
        maxMissedPongs, maxConnectionsPerChannel, maxChannels, maxConnections, signalingTimeoutSeconds,
        e2eePayloadMaxBytes, e2eeMessagesPerSecond, e2eeBurst, guards, auth, net, mediaLoops, egressSpread);
  }

  /** This configuration with the e2ee switch set to {@code on}. */
  public ServerConfig withE2ee(boolean on) {
    return new ServerConfig(on, httpPort, httpBindAddress, rtcPort, rtcBindAddress, announcedAddress,
        pingIntervalSeconds, maxMissedPongs, maxConnectionsPerChannel, maxChannels, maxConnections,
        signalingTimeoutSeconds, e2eePayloadMaxBytes, e2eeMessagesPerSecond, e2eeBurst, guards, auth, net, mediaLoops, egressSpread);
  }

  /** This configuration with other abuse limits. */
  public ServerConfig withGuards(Guards g) {
    return new ServerConfig(e2ee, httpPort, httpBindAddress, rtcPort, rtcBindAddress, announcedAddress,
        pingIntervalSeconds, maxMissedPongs, maxConnectionsPerChannel, maxChannels, maxConnections,
        signalingTimeoutSeconds, e2eePayloadMaxBytes, e2eeMessagesPerSecond, e2eeBurst, g, auth, net, mediaLoops, egressSpread);
  }

  /** This configuration with another DTLS handshake pool size and timeout. */
  public ServerConfig withDtlsHandshakes(int threads, int timeoutSeconds) {
    return withGuards(guards.withDtlsHandshakes(threads, timeoutSeconds));
  }

  /** This configuration with another keepalive. */
  public ServerConfig withKeepalive(int pingIntervalSeconds, int maxMissedPongs) {
    return new ServerConfig(e2ee, httpPort, httpBindAddress, rtcPort, rtcBindAddress, announcedAddress,
        pingIntervalSeconds, maxMissedPongs, maxConnectionsPerChannel, maxChannels, maxConnections,
        signalingTimeoutSeconds, e2eePayloadMaxBytes, e2eeMessagesPerSecond, e2eeBurst, guards, auth, net, mediaLoops, egressSpread);
  }

  /** This configuration with another e2ee relay rate. */
  public ServerConfig withE2eeRate(int perSecond, int burst) {
    return new ServerConfig(e2ee, httpPort, httpBindAddress, rtcPort, rtcBindAddress, announcedAddress,
        pingIntervalSeconds, maxMissedPongs, maxConnectionsPerChannel, maxChannels, maxConnections,
        signalingTimeoutSeconds, e2eePayloadMaxBytes, perSecond, burst, guards, auth, net, mediaLoops, egressSpread);
  }

  /** This configuration with other connection and channel limits. */
  public ServerConfig withLimits(int maxConnections, int maxConnectionsPerChannel, int maxChannels) {
    return new ServerConfig(e2ee, httpPort, httpBindAddress, rtcPort, rtcBindAddress, announcedAddress,
        pingIntervalSeconds, maxMissedPongs, maxConnectionsPerChannel, maxChannels, maxConnections,
        signalingTimeoutSeconds, e2eePayloadMaxBytes, e2eeMessagesPerSecond, e2eeBurst, guards, auth, net, mediaLoops, egressSpread);
  }

  /** This configuration with another access policy. */
  public ServerConfig withAuth(AuthConfig a) {
    return new ServerConfig(e2ee, httpPort, httpBindAddress, rtcPort, rtcBindAddress, announcedAddress,
        pingIntervalSeconds, maxMissedPongs, maxConnectionsPerChannel, maxChannels, maxConnections,
        signalingTimeoutSeconds, e2eePayloadMaxBytes, e2eeMessagesPerSecond, e2eeBurst, guards, a, net, mediaLoops, egressSpread);
  }

  /** This configuration with another ICE-TCP port (-1 = off, 0 = ephemeral). */
  public ServerConfig withRtcTcpPort(int port) {
    return withNet(net.withRtcTcpPort(port));
  }

  /** This configuration with other ICE-TCP and TURN settings. */
  public ServerConfig withNet(NetConfig n) {
    return new ServerConfig(e2ee, httpPort, httpBindAddress, rtcPort, rtcBindAddress, announcedAddress,
        pingIntervalSeconds, maxMissedPongs, maxConnectionsPerChannel, maxChannels, maxConnections,
        signalingTimeoutSeconds, e2eePayloadMaxBytes, e2eeMessagesPerSecond, e2eeBurst, guards, auth, n, mediaLoops, egressSpread);
  }

  private static EgressSpread egressSpread(Config c) throws ConfigurationException {
    String v = c.getString("media_egress_spread");
    for (EgressSpread e : EgressSpread.values()) {
      if (e.name().equalsIgnoreCase(v)) {
        return e;
      }
    }
    throw new ConfigurationException("media_egress_spread must be \"auto\", \"on\" or \"off\", not \"" + v + "\"");
  }

  private static NetConfig net(Config c) throws ConfigurationException {
    int tcp = range(c, "rtc_tcp_port", -1, 65535);
    java.util.List<String> urls = c.getStringList("turn.urls");
    if (urls.isEmpty()) {
      return new NetConfig(tcp, null);
    }
    String inline = c.getString("turn.secret");
    String file = c.getString("turn.secret_file");
    if (inline.isEmpty() == file.isEmpty()) {
      throw new ConfigurationException("turn.urls needs exactly one of turn.secret and turn.secret_file");
    }
    try {
      byte[] secret = inline.isEmpty() ? AuthConfig.readSecret(Path.of(file))
          : inline.getBytes(java.nio.charset.StandardCharsets.UTF_8);
      return new NetConfig(tcp, new NetConfig.Turn(urls, secret, range(c, "turn.ttl_seconds", 60, 7 * 86400)));
    } catch (IOException | IllegalArgumentException e) {
      throw new ConfigurationException("bad turn configuration: " + e.getMessage());
    }
  }

  private static AuthConfig auth(Config c) throws ConfigurationException {
    String mode = c.getString("auth.mode");
    if (!mode.equals("open") && !mode.equals("token")) {
      throw new ConfigurationException("auth.mode must be \"open\" or \"token\", not \"" + mode + "\"");
    }
    String secretFile = c.getString("auth.hs256_secret_file");
    String keyFile = c.getString("auth.es256_public_key_file");
    try {
      byte[] secret = secretFile.isEmpty() ? null : AuthConfig.readSecret(Path.of(secretFile));
      var key = keyFile.isEmpty() ? null : AuthConfig.readEcPublicKey(Path.of(keyFile));
      String hook = c.getString("auth.webhook_url");
      return new AuthConfig(mode.equals("token"), secret, key, range(c, "auth.clock_skew_seconds", 0, 600),
          hook.isEmpty() ? null : hook, range(c, "auth.webhook_timeout_millis", 100, 60_000));
    } catch (IOException | IllegalArgumentException e) {
      throw new ConfigurationException("bad auth configuration: " + e.getMessage());
    }
  }

  private static int port(Config c, String key) throws ConfigurationException {
    return range(c, key, 0, 65535);
  }

  static int range(Config c, String key, int min, int max) throws ConfigurationException {
    int v = c.getInt(key);
    if (v < min || v > max) {
      throw new ConfigurationException(key + " = " + v + " is outside " + min + ".." + max);
    }
    return v;
  }
}
