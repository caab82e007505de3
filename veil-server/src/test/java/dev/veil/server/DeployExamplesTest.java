package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The packaging examples in {@code deploy/} (docker cannot run on the build machine; {@code systemd-analyze verify}
 * checks the unit where systemd is installed, docs in the README): the example configuration loads with the
 * server's own loader, and the Dockerfile and the systemd unit agree with it — ports exposed, health check path,
 * config path, a stop timeout longer than the drain, a non-root user, restart on failure.
 */
class DeployExamplesTest {
  private static final Path DEPLOY = Path.of("..", "deploy");

  @Test
  void exampleConfig_loads_andTheDockerfileAndUnitAgreeWithIt() throws Exception {
    ServerConfig cfg = ServerConfig.load(DEPLOY.resolve("veil.conf").toFile());
    OpsConfig ops = OpsConfig.load(DEPLOY.resolve("veil.conf").toFile());
    assertEquals("json", ops.logFormat());
    assertEquals(5001, ops.adminPort());
    assertEquals("127.0.0.1", ops.adminBindAddress());
    if (System.getenv("VEIL_ANNOUNCED_ADDRESS") == null) {
      assertEquals("127.0.0.1", cfg.announcedAddress());
    }

    String docker = Files.readString(DEPLOY.resolve("Dockerfile"));
    List<String> from = lines(docker, "^FROM (\\S+)");
    assertEquals(List.of("maven:3.9-eclipse-temurin-17", "eclipse-temurin:17-jre"), from, "multi-stage");
    assertTrue(docker.contains("EXPOSE " + cfg.httpPort() + "/tcp " + cfg.rtcPort() + "/udp " + cfg.net().rtcTcpPort()
        + "/tcp"), "ports of veil.conf");
    assertTrue(docker.contains("\"http://127.0.0.1:" + cfg.httpPort() + "/health\""), "health check on /health");
    List<String> users = lines(docker, "^USER (\\S+)");
    assertEquals(1, users.size());
    assertTrue(!users.get(0).startsWith("root") && !users.get(0).startsWith("0"), "non-root: " + users);
    assertTrue(docker.contains("\"--config\", \"/etc/veil/veil.conf\""));
    assertTrue(docker.contains("COPY deploy/veil.conf /etc/veil/veil.conf"));
    for (String src : lines(docker, "^COPY (?!--from)(\\S+) ")) {
      assertTrue(Files.exists(Path.of("..", src)), "COPY source " + src + " exists in the repository");
    }

    String unit = Files.readString(DEPLOY.resolve("veil-server.service"));
    assertTrue(unit.contains("--config /etc/veil/veil.conf"));
    assertEquals(List.of("on-failure"), lines(unit, "^Restart=(\\S+)"));
    assertEquals(List.of("veil"), lines(unit, "^User=(\\S+)"));
    Matcher stop = Pattern.compile("(?m)^TimeoutStopSec=(\\d+)s$").matcher(unit);
    assertTrue(stop.find());
    assertTrue(Integer.parseInt(stop.group(1)) > ops.drainTimeoutSeconds(), "the stop timeout outlasts the drain");
    Matcher dockerStop = Pattern.compile("--stop-timeout (\\d+)").matcher(docker);
    assertTrue(dockerStop.find());
    assertTrue(Integer.parseInt(dockerStop.group(1)) > ops.drainTimeoutSeconds());
    for (String h : new String[] {"NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
        "CapabilityBoundingSet=", "SuccessExitStatus=143"}) {
      assertTrue(unit.contains("\n" + h + "\n"), h);
    }
  }

  private static List<String> lines(String text, String regex) {
    Matcher m = Pattern.compile("(?m)" + regex).matcher(text);
    List<String> out = new ArrayList<>();
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }
}
