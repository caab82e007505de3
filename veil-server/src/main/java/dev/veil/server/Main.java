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

  @Option(names = "--rtc-tcp-port", paramLabel = "N",
      description = "ICE-TCP port (0 = ephemeral, -1 = off; default rtc_tcp_port, ephemeral with --rtc-port 0).")
  Integer rtcTcpPort;

  /** TEST ONLY (hidden): records forwarded VP8, H.264, VP9 and AV1 payloads to FILE; see ForwardTap and docs/SECURITY.md §4. */
  @Option(names = "--test-forward-tap", paramLabel = "FILE", hidden = true)
  File testForwardTap;

  /**
   * TEST ONLY (hidden): reads commands from standard input: {@code error} throws an OutOfMemoryError on the event
   * loop (a fatal error); after a fatal error the exit then waits for {@code exit} (or the end of input), so that a
   * test can see {@code /health} fail before the process goes. See FatalErrorTest.
   */
  @Option(names = "--test-fatal-injection", hidden = true)
  boolean testFatalInjection;

  /** Exit status after a fatal error (EX_SOFTWARE): a supervisor restarts the server. */
  static final int EXIT_FATAL = 70;

  public static void main(String[] args) {
    // Netty 4.2 asks the JDK whether Flight Recorder is available when its first buffer is made, which loads ~110 classes
    // of jdk.jfr (~0.5 MiB of metaspace) for buffer events no one records. Off unless asked for
    // (-Dio.netty.jfr.enabled=true; docs/BENCHMARKS.md, issue 10 memory).
    if (System.getProperty("io.netty.jfr.enabled") == null) {
      System.setProperty("io.netty.jfr.enabled", "false");
    }
    // Netty's Recycler (pooled buffers' and the outbound buffer's entries) keeps up to chunkSize (default 32) objects
    // released by their own thread in a plain array, and queues the rest in a linked-array queue that allocates a new
    // chunk per chunkSize objects: a flush of a loop turn's hundreds of forwarded datagrams went that way (~9 B per
    // forwarded packet, docs/BENCHMARKS.md). Before any Netty class is loaded; -Dio.netty.recycler.chunkSize wins.
    if (System.getProperty("io.netty.recycler.chunkSize") == null) {
      System.setProperty("io.netty.recycler.chunkSize", "1024");
    }
    // Netty's default leak detection (SIMPLE) records a stack trace for one buffer in 128: on the forwarding path that
    // is a Throwable per ~128 forwarded packets (~2 % of the media loop's CPU in a whole-process profile at the rig's
    // 4 x 40 step, docs/BENCHMARKS.md). Off in the server unless asked for (-Dio.netty.leakDetection.level=...);
    // the tests, which start servers in process, keep Netty's default.
    if (System.getProperty("io.netty.leakDetection.level") == null
        && System.getProperty("io.netty.leakDetectionLevel") == null) {
      io.netty.util.ResourceLeakDetector.setLevel(io.netty.util.ResourceLeakDetector.Level.DISABLED);
    }
    System.exit(new CommandLine(new Main()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    ServerConfig cfg;
    OpsConfig ops;
    try {
      cfg = ServerConfig.load(config);
      ops = OpsConfig.load(config);
    } catch (ServerConfig.ConfigurationException e) {
      System.err.println(e.getMessage());
      return 2;
    }
    if ((httpPort != null && (httpPort < 0 || httpPort > 65535))
        || (rtcPort != null && (rtcPort < 0 || rtcPort > 65535))
        || (rtcTcpPort != null && (rtcTcpPort < -1 || rtcTcpPort > 65535))) {
      System.err.println("ports must be 0..65535 (--rtc-tcp-port: -1 turns ICE-TCP off)");
      return 2;
    }
    cfg = cfg.withPorts(httpPort, rtcPort);
    if (rtcTcpPort != null) {
      cfg = cfg.withRtcTcpPort(rtcTcpPort);
    }
    dev.veil.server.cluster.ClusterConfig cluster;
    try {
      cluster = dev.veil.server.cluster.ClusterConfig.load(config);
    } catch (RuntimeException e) {
      System.err.println(e.getMessage());
      return 2;
    }
    LogFormat.apply(ops.logFormat());
    VeilServer server = new VeilServer(cfg, cluster, ops);
    if (testForwardTap != null) {
      server.enableForwardTapForTesting(testForwardTap.toPath());
    }
    CountDownLatch release = new CountDownLatch(testFatalInjection ? 1 : 0);
    server.onFatal(t -> {
      // Exit from a thread of its own: the failing thread may be the event loop, which the shutdown hook waits for.
      Thread exit = new Thread(() -> {
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        System.err.println("veil-server: fatal error, exiting with status " + EXIT_FATAL);
        Thread halt = new Thread(() -> {
          try {
            Thread.sleep(15_000);
          } catch (InterruptedException e) {
            return;
          }
          Runtime.getRuntime().halt(EXIT_FATAL); // the shutdown hook hangs: stop anyway
        }, "veil-fatal-halt");
        halt.setDaemon(true);
        halt.start();
        System.exit(EXIT_FATAL);
      }, "veil-fatal-exit");
      exit.start();
    });
    Thread.setDefaultUncaughtExceptionHandler((t, e) -> {
      if (e instanceof Error) {
        server.fail("an error ended thread " + t.getName(), e);
      } else {
        LOG.error("thread {} ended with an uncaught exception", t.getName(), e);
      }
    });
    CountDownLatch done = new CountDownLatch(1);
    // SIGTERM / SIGINT: drain (members are told "draining" and may leave, up to drain_timeout_seconds), then close
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.drainAndClose();
      done.countDown();
    }, "veil-shutdown"));
    // A drain started on the admin port: exit (status 0) once it is over; the shutdown hook then closes
    server.onDrained(r -> {
      Thread exit = new Thread(() -> System.exit(0), "veil-drained-exit");
      exit.setDaemon(true);
      exit.start();
    });
    try {
      server.start();
    } catch (Exception e) {
      LOG.error("cannot start: {}", e.toString());
      server.close();
      return 1;
    }
    if (dev.veil.webrtc.srtp.SrtpSession.allocationFree()) {
      LOG.info("SRTP packet path: in place on the JDK's AES/GHASH intrinsics, no allocation per packet");
    } else {
      LOG.warn("SRTP packet path: public JCE (allocates per packet; start with --add-opens "
          + "java.base/com.sun.crypto.provider=ALL-UNNAMED or java -jar): {}",
          dev.veil.webrtc.srtp.SrtpSession.allocationFreeUnavailableReason());
    }
    // The one machine-readable line on standard output; tests read the bound ports from it.
    System.out.println("veil-server listening http_port=" + server.httpPort() + " rtc_port=" + server.rtcPort()
        + " announced_address=" + cfg.announcedAddress() + " e2ee=" + cfg.e2ee()
        + " auth=" + (cfg.auth().tokenRequired() ? "token" : "open") + " rtc_tcp_port=" + server.rtcTcpPort()
        + " turn=" + (cfg.net().turn() != null)
        + (server.adminPort() >= 0 ? " admin_port=" + server.adminPort() : ""));
    System.out.flush();
    if (testFatalInjection) {
      LOG.warn("TEST ONLY --test-fatal-injection on: standard input can make this server fail");
      Thread stdin = new Thread(() -> readTestCommands(server, release), "veil-test-fatal-injection");
      stdin.setDaemon(true);
      stdin.start();
    }
    done.await();
    return server.failure() != null ? EXIT_FATAL : 0;
  }

  private static void readTestCommands(VeilServer server, CountDownLatch release) {
    try (java.io.BufferedReader in = new java.io.BufferedReader(
        new java.io.InputStreamReader(System.in, java.nio.charset.StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        if (line.equals("error")) {
          server.runOnLoopForTesting(() -> {
            throw new OutOfMemoryError("injected by --test-fatal-injection");
          });
        } else if (line.equals("exit")) {
          break;
        }
      }
    } catch (java.io.IOException e) {
      // end of input
    }
    release.countDown();
  }
}
