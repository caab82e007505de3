package dev.veil.server;

import java.io.File;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code java -jar veil-server.jar [--config FILE] [--http-port N] [--rtc-port N]}. */
@Command(name = "veil-server", mixinStandardHelpOptions = true, version = "veil-server 0.1.0",
    description = "Veil: a WebRTC SFU whose calls are end-to-end encrypted.")
public final class Main implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(Main.class);

  @Option(names = "--config", paramLabel = "FILE", description = "HOCON config file (overrides the defaults).")
  File config;

  @Option(names = "--http-port", paramLabel = "N", description = "HTTP/WebSocket port (0 = ephemeral).")
  Integer httpPort;

  @Option(names = "--rtc-port", paramLabel = "N", description = "UDP media port (0 = ephemeral).")
  Integer rtcPort;

  /** TEST ONLY (hidden): records forwarded VP8 payloads to FILE; see ForwardTap and docs/SECURITY.md §4. */
  @Option(names = "--test-forward-tap", paramLabel = "FILE", hidden = true)
  File testForwardTap;

  public static void main(String[] args) {
    System.exit(new CommandLine(new Main()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    ServerConfig cfg;
    try {
      cfg = ServerConfig.load(config);
    } catch (ServerConfig.ConfigurationException e) {
      System.err.println(e.getMessage());
      return 2;
    }
    if ((httpPort != null && (httpPort < 0 || httpPort > 65535))
        || (rtcPort != null && (rtcPort < 0 || rtcPort > 65535))) {
      System.err.println("ports must be 0..65535");
      return 2;
    }
    cfg = cfg.withPorts(httpPort, rtcPort);
    VeilServer server = new VeilServer(cfg);
    if (testForwardTap != null) {
      server.enableForwardTapForTesting(testForwardTap.toPath());
    }
    CountDownLatch done = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.close();
      done.countDown();
    }, "veil-shutdown"));
    try {
      server.start();
    } catch (Exception e) {
      LOG.error("cannot start: {}", e.toString());
      server.close();
      return 1;
    }
    // The one machine-readable line on standard output; tests read the bound ports from it.
    System.out.println("veil-server listening http_port=" + server.httpPort() + " rtc_port=" + server.rtcPort()
        + " announced_address=" + cfg.announcedAddress() + " e2ee=" + cfg.e2ee());
    System.out.flush();
    done.await();
    return 0;
  }
}
