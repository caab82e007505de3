package dev.veil.server;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.io.File;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * The operations settings of veil-server (docs/PROTOCOL.md §1.6), read from the same HOCON file as
 * {@link ServerConfig}.
 *
 * @param logFormat {@code log_format}: {@code "text"} (the default) or {@code "json"} (one JSON object per line,
 *     {@link JsonLogEncoder})
 * @param drainTimeoutSeconds {@code drain_timeout_seconds}: after SIGTERM or {@code POST /admin/drain} the server
 *     refuses new connects, tells its members ({@code draining}) and exits once empty or after this long
 * @param adminPort {@code admin.port}: the loopback-only admin HTTP port ({@code POST /admin/drain}); -1 (the
 *     default) = no admin port, 0 = ephemeral
 * @param adminBindAddress {@code admin.bind_address}: a loopback address (anything else is a configuration error)
 * @param tokenExpiryDisconnect {@code auth.disconnect_on_expiry}: with {@code auth.mode = "token"}, a member whose
 *     token expires during the call is disconnected at its expiry ({@code token_expired}); no effect in open mode
 */
public record OpsConfig(String logFormat, int drainTimeoutSeconds, int adminPort, String adminBindAddress,
    boolean tokenExpiryDisconnect) {

  public OpsConfig {
    if (!logFormat.equals("text") && !logFormat.equals("json")) {
      throw new IllegalArgumentException("log_format must be \"text\" or \"json\", not \"" + logFormat + "\"");
    }
    if (drainTimeoutSeconds < 1 || drainTimeoutSeconds > 86_400) {
      throw new IllegalArgumentException("drain_timeout_seconds must be 1..86400");
    }
    if (adminPort < -1 || adminPort > 65535) {
      throw new IllegalArgumentException("admin.port must be -1 (off) or 0..65535");
    }
    if (!isLoopback(adminBindAddress)) {
      throw new IllegalArgumentException("admin.bind_address must be a loopback address, not " + adminBindAddress);
    }
  }

  /** The embedded defaults. */
  public static OpsConfig defaults() {
    try {
      return load(null);
    } catch (ServerConfig.ConfigurationException e) {
      throw new IllegalStateException("the embedded reference.conf is broken", e);
    }
  }

  /** The defaults overlaid with {@code file} (if not null). */
  public static OpsConfig load(File file) throws ServerConfig.ConfigurationException {
    Config c = ServerConfig.parse(file);
    try {
      return new OpsConfig(c.getString("log_format"),
          ServerConfig.range(c, "drain_timeout_seconds", 1, 86_400),
          ServerConfig.range(c, "admin.port", -1, 65535),
          c.getString("admin.bind_address"),
          c.getBoolean("auth.disconnect_on_expiry"));
    } catch (ConfigException | IllegalArgumentException e) {
      throw new ServerConfig.ConfigurationException("bad configuration: " + e.getMessage());
    }
  }

  public OpsConfig withDrainTimeoutSeconds(int s) {
    return new OpsConfig(logFormat, s, adminPort, adminBindAddress, tokenExpiryDisconnect);
  }

  public OpsConfig withAdminPort(int port) {
    return new OpsConfig(logFormat, drainTimeoutSeconds, port, adminBindAddress, tokenExpiryDisconnect);
  }

  public OpsConfig withTokenExpiryDisconnect(boolean on) {
    return new OpsConfig(logFormat, drainTimeoutSeconds, adminPort, adminBindAddress, on);
  }

  private static boolean isLoopback(String address) {
    try {
      // a literal only (no name lookup): "127.0.0.1", "::1"
      if (!address.matches("[0-9.]+|[0-9a-fA-F:]+")) {
        return false;
      }
      return InetAddress.getByName(address).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }
}
