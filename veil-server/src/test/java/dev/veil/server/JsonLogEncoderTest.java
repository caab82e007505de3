package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code log_format = "json"}: one JSON object per line; tokens never written. */
class JsonLogEncoderTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String JWT = "eyJhbGciOiJIUzI1NiJ9.eyJjaGFubmVsIjoicm9vbSJ9.c2lnbmF0dXJlLXBhcnQ";
  private final LoggerContext ctx = (LoggerContext) org.slf4j.LoggerFactory.getILoggerFactory();
  private final JsonLogEncoder enc = new JsonLogEncoder();

  private String encode(LoggingEvent e) {
    enc.setContext(ctx);
    enc.start();
    return new String(enc.encode(e), StandardCharsets.UTF_8);
  }

  private LoggingEvent event(Level level, String msg, Throwable t, Object... args) {
    LoggingEvent e = new LoggingEvent("fqcn", ctx.getLogger("dev.veil.server.Hub"), level, msg, t, args);
    e.setTimeStamp(1_800_000_000_123L);
    e.setThreadName("veil-loop");
    return e;
  }

  @Test
  void event_isOneJsonObjectOnOneLine_withTimeLevelLoggerMessageAndFields() throws Exception {
    LoggingEvent e = event(Level.INFO, "{} joins channel {}\nsecond line", null, "ABC", "room");
    e.addKeyValuePair(new org.slf4j.event.KeyValuePair("connections", 3));
    e.addKeyValuePair(new org.slf4j.event.KeyValuePair("channel", "room"));
    e.setMDCPropertyMap(Map.of("node", "n1"));
    String line = encode(e);
    assertTrue(line.endsWith("\n"));
    assertEquals(1, line.split("\n", -1).length - 1, "exactly one line: " + line);
    JsonNode n = JSON.readTree(line);
    assertEquals("2027-01-15T08:00:00.123Z", n.get("time").asText());
    assertEquals("INFO", n.get("level").asText());
    assertEquals("dev.veil.server.Hub", n.get("logger").asText());
    assertEquals("veil-loop", n.get("thread").asText());
    assertEquals("ABC joins channel room\nsecond line", n.get("message").asText());
    assertEquals(3, n.get("fields").get("connections").asInt());
    assertTrue(n.get("fields").get("connections").isNumber());
    assertEquals("room", n.get("fields").get("channel").asText());
    assertEquals("n1", n.get("fields").get("node").asText());
    assertFalse(n.has("exception"));
  }

  @Test
  void exception_isWrittenAsOneField() throws Exception {
    JsonNode n = JSON.readTree(encode(event(Level.ERROR, "task failed", new IllegalStateException("boom"))));
    assertEquals("ERROR", n.get("level").asText());
    assertTrue(n.get("exception").asText().contains("java.lang.IllegalStateException: boom"));
    assertFalse(n.has("fields"), "no fields: omitted");
  }

  @Test
  void tokens_areRedacted_inMessagesFieldsAndExceptions() throws Exception {
    LoggingEvent e = event(Level.WARN, "connect {} with {\"token\":\"opaque-secret\"}",
        new IllegalArgumentException("bad " + JWT), JWT);
    e.addKeyValuePair(new org.slf4j.event.KeyValuePair("access_token", "opaque-secret-2"));
    e.addKeyValuePair(new org.slf4j.event.KeyValuePair("note", "has " + JWT));
    String line = encode(e);
    for (String secret : new String[] {JWT, "eyJjaGFubmVsIjoicm9vbSJ9", "opaque-secret", "opaque-secret-2"}) {
      assertFalse(line.contains(secret), secret + " leaked: " + line);
    }
    JsonNode n = JSON.readTree(line);
    assertTrue(n.get("message").asText().contains(JsonLogEncoder.REDACTED));
    assertEquals(JsonLogEncoder.REDACTED, n.get("fields").get("access_token").asText());
    assertEquals("has " + JsonLogEncoder.REDACTED, n.get("fields").get("note").asText());
  }

  @Test
  void opsConfig_logFormatAndAdminAddressAreChecked() throws Exception {
    assertEquals("text", OpsConfig.defaults().logFormat());
    assertEquals(-1, OpsConfig.defaults().adminPort());
    assertTrue(OpsConfig.defaults().tokenExpiryDisconnect());
    java.nio.file.Path f = java.nio.file.Files.createTempFile("ops", ".conf");
    try {
      java.nio.file.Files.writeString(f, "log_format = \"json\"\nadmin { port = 0, bind_address = \"::1\" }\n");
      OpsConfig ok = OpsConfig.load(f.toFile());
      assertEquals("json", ok.logFormat());
      assertEquals(0, ok.adminPort());
      for (String bad : new String[] {"log_format = \"xml\"", "admin.bind_address = \"0.0.0.0\"",
          "admin.bind_address = \"localhost\"", "drain_timeout_seconds = 0"}) {
        java.nio.file.Files.writeString(f, bad + "\n");
        org.junit.jupiter.api.Assertions.assertThrows(ServerConfig.ConfigurationException.class,
            () -> OpsConfig.load(f.toFile()), bad);
      }
    } finally {
      java.nio.file.Files.deleteIfExists(f);
    }
  }
}
