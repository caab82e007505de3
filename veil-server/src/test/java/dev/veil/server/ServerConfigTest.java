package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServerConfigTest {
  @TempDir
  Path dir;

  private File write(String hocon) throws Exception {
    Path p = dir.resolve("veil.conf");
    Files.writeString(p, hocon);
    return p.toFile();
  }

  @Test
  void defaults_comeFromTheEmbeddedReferenceConf() {
    ServerConfig c = ServerConfig.defaults();
    assertTrue(c.e2ee());
    assertEquals(5000, c.httpPort());
    assertEquals(50000, c.rtcPort());
    assertEquals("127.0.0.1", c.announcedAddress());
    assertEquals("127.0.0.1", c.rtcBindAddress());
    assertEquals(4096, c.e2eePayloadMaxBytes());
  }

  @Test
  void load_fileOverridesSomeKeys_restStaysDefault() throws Exception {
    ServerConfig c = ServerConfig.load(write("e2ee = false\nhttp_port = 8080\nlimits { e2ee_burst = 7 }\n"));
    assertFalse(c.e2ee());
    assertEquals(8080, c.httpPort());
    assertEquals(7, c.e2eeBurst());
    assertEquals(50000, c.rtcPort());
    assertEquals(50, c.e2eeMessagesPerSecond());
  }

  @Test
  void withPorts_flagsOverrideTheFile() throws Exception {
    ServerConfig c = ServerConfig.load(write("http_port = 8080\nrtc_port = 9000\n")).withPorts(0, null);
    assertEquals(0, c.httpPort());
    assertEquals(9000, c.rtcPort());
  }

  @Test
  void load_badValues_throwConfigurationException() throws Exception {
    assertThrows(ServerConfig.ConfigurationException.class, () -> ServerConfig.load(write("http_port = 70000")));
    assertThrows(ServerConfig.ConfigurationException.class, () -> ServerConfig.load(write("e2ee = maybe")));
    assertThrows(ServerConfig.ConfigurationException.class, () -> ServerConfig.load(write("ping_interval_seconds = 0")));
    assertThrows(ServerConfig.ConfigurationException.class, () -> ServerConfig.load(write("e2ee = ")));
    assertThrows(ServerConfig.ConfigurationException.class,
        () -> ServerConfig.load(dir.resolve("missing.conf").toFile()));
  }

  @Test
  void guards_defaultsFromReferenceConf_overridable_andRangeChecked() throws Exception {
    ServerConfig.Guards g = ServerConfig.defaults().guards();
    assertEquals(5, g.connectTimeoutSeconds());
    assertEquals(200, g.maxPendingSockets());
    assertEquals(32, g.maxPendingSocketsPerAddress());
    assertEquals(100, g.maxConnectionsPerAddress());
    assertEquals(1048576, g.outboundMaxBytes());
    assertEquals(2048, g.outboundMaxMessages());
    assertEquals(20, g.writeStallTimeoutSeconds());
    assertEquals(100, g.signalingMessagesPerSecond());
    assertEquals(300, g.signalingBurst());
    assertEquals(268435456, g.outboundTotalMaxBytes());
    ServerConfig c = ServerConfig.load(write(
        "limits { max_pending_sockets_per_address = 3\n outbound_max_bytes = 2000000\n signaling_burst = 9 }\n"));
    assertEquals(3, c.guards().maxPendingSocketsPerAddress());
    assertEquals(2000000, c.guards().outboundMaxBytes());
    assertEquals(9, c.guards().signalingBurst());
    assertEquals(5, c.guards().connectTimeoutSeconds());
    // a queue bound under two largest messages would drop honest clients: refused
    assertThrows(ServerConfig.ConfigurationException.class,
        () -> ServerConfig.load(write("limits.outbound_max_bytes = 100000")));
    assertThrows(ServerConfig.ConfigurationException.class,
        () -> ServerConfig.load(write("limits.write_stall_timeout_seconds = 0")));
  }

  @Test
  void mediaLoops_defaultIsOnePerProcessor_fileSetsIt_rangeChecked() throws Exception {
    ServerConfig d = ServerConfig.defaults();
    if (System.getenv("VEIL_MEDIA_LOOPS") == null) {
      assertEquals(0, d.mediaLoops());
      assertEquals(Runtime.getRuntime().availableProcessors(), d.mediaLoopCount());
    }
    ServerConfig c = ServerConfig.load(write("media_loops = 3\n"));
    assertEquals(3, c.mediaLoops());
    assertEquals(3, c.mediaLoopCount());
    assertEquals(3, c.withPorts(0, 0).withE2ee(false).mediaLoops(), "kept by the with* copies");
    assertEquals(1, c.withMediaLoops(1).mediaLoopCount());
    assertThrows(ServerConfig.ConfigurationException.class, () -> ServerConfig.load(write("media_loops = -1")));
    assertThrows(ServerConfig.ConfigurationException.class, () -> ServerConfig.load(write("media_loops = 257")));
    assertThrows(IllegalArgumentException.class, () -> d.withMediaLoops(-1));
  }

  @Test
  void egressSpread_defaultIsAuto_fileSetsIt_badValueIsAClearError() throws Exception {
    if (System.getenv("VEIL_MEDIA_EGRESS_SPREAD") == null) {
      assertEquals(EgressSpread.AUTO, ServerConfig.defaults().egressSpread());
    }
    ServerConfig on = ServerConfig.load(write("media_egress_spread = \"on\"\n"));
    assertEquals(EgressSpread.ON, on.egressSpread());
    assertEquals(EgressSpread.ON, on.withMediaLoops(4).withPorts(0, 0).egressSpread(), "kept by the with* copies");
    assertEquals(EgressSpread.OFF, ServerConfig.load(write("media_egress_spread = OFF\n")).egressSpread());
    ServerConfig.ConfigurationException e = assertThrows(ServerConfig.ConfigurationException.class,
        () -> ServerConfig.load(write("media_egress_spread = sometimes\n")));
    assertTrue(e.getMessage().contains("media_egress_spread"), e.getMessage());
  }

  @Test
  void main_badConfig_exitsWith2() throws Exception {
    File f = write("http_port = -1");
    int code = new picocli.CommandLine(new Main()).execute("--config", f.getPath());
    assertEquals(2, code);
  }
}
