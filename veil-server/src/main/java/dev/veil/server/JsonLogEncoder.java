package dev.veil.server;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.encoder.EncoderBase;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.slf4j.event.KeyValuePair;

/**
 * Structured logs ({@code log_format = "json"}): one JSON object per line,
 * {@code {"time":"2026-12-03T13:55:19.123Z","level":"INFO","logger":"dev.veil.server.Hub","thread":"veil-loop",
 * "message":"…","fields":{…},"exception":"…"}}. {@code fields} holds the event's SLF4J key-value pairs and MDC
 * entries (omitted when empty), {@code exception} the stack trace (omitted without one).
 *
 * <p>The server never logs key material or tokens; as a second line of defence anything shaped like a JWT (three
 * base64url parts, the first starting {@code eyJ}) or a {@code "token":"…"} value is replaced by
 * {@link #REDACTED} in every string written.
 */
public final class JsonLogEncoder extends EncoderBase<ILoggingEvent> {
  static final String REDACTED = "[redacted]";
  private static final Pattern JWT =
      Pattern.compile("eyJ[A-Za-z0-9_-]{2,}\\.[A-Za-z0-9_-]{2,}\\.[A-Za-z0-9_-]*");
  private static final Pattern TOKEN_FIELD = Pattern.compile("(\"token\"\\s*:\\s*\")[^\"]*(\")");
  private static final DateTimeFormatter TIME = DateTimeFormatter.ISO_INSTANT.withZone(ZoneOffset.UTC);
  private static final byte[] EMPTY = new byte[0];
  private final JsonFactory json = new JsonFactory();

  @Override
  public byte[] headerBytes() {
    return EMPTY;
  }

  @Override
  public byte[] footerBytes() {
    return EMPTY;
  }

  @Override
  public byte[] encode(ILoggingEvent e) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator g = json.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("time", TIME.format(Instant.ofEpochMilli(e.getTimeStamp())));
      g.writeStringField("level", e.getLevel().toString());
      g.writeStringField("logger", e.getLoggerName());
      g.writeStringField("thread", e.getThreadName());
      g.writeStringField("message", redact(e.getFormattedMessage()));
      List<KeyValuePair> kvs = e.getKeyValuePairs();
      Map<String, String> mdc = e.getMDCPropertyMap();
      if ((kvs != null && !kvs.isEmpty()) || (mdc != null && !mdc.isEmpty())) {
        g.writeObjectFieldStart("fields");
        if (mdc != null) {
          for (Map.Entry<String, String> m : mdc.entrySet()) {
            g.writeStringField(m.getKey(), redactField(m.getKey(), m.getValue()));
          }
        }
        if (kvs != null) {
          for (KeyValuePair kv : kvs) {
            Object v = kv.value;
            if (v instanceof Number n && !(v instanceof Double) && !(v instanceof Float)) {
              g.writeNumberField(kv.key, n.longValue());
            } else if (v instanceof Boolean b) {
              g.writeBooleanField(kv.key, b);
            } else {
              g.writeStringField(kv.key, redactField(kv.key, String.valueOf(v)));
            }
          }
        }
        g.writeEndObject();
      }
      IThrowableProxy t = e.getThrowableProxy();
      if (t != null) {
        g.writeStringField("exception", redact(ThrowableProxyUtil.asString(t)));
      }
      g.writeEndObject();
    } catch (IOException x) {
      throw new UncheckedIOException(x);
    }
    out.write('\n');
    return out.toByteArray();
  }

  /** {@code s} with anything shaped like a token replaced. */
  static String redact(String s) {
    if (s == null) {
      return null;
    }
    String r = JWT.matcher(s).replaceAll(REDACTED);
    return TOKEN_FIELD.matcher(r).replaceAll("$1" + REDACTED + "$2");
  }

  private static String redactField(String key, String value) {
    String k = key.toLowerCase(java.util.Locale.ROOT);
    if (k.contains("token") || k.contains("secret") || k.contains("key") || k.contains("password")) {
      return REDACTED;
    }
    return redact(value);
  }
}
