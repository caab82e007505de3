package dev.veil.server;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.OutputStreamAppender;
import java.util.Iterator;
import org.slf4j.LoggerFactory;

/** Switches the console log to JSON lines ({@code log_format = "json"}) after the configuration is read. */
final class LogFormat {
  private LogFormat() {}

  /** With {@code "json"}, every console appender of the root logger writes {@link JsonLogEncoder} lines. */
  static void apply(String format) {
    if (!"json".equals(format) || !(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
      return;
    }
    Logger root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    for (Iterator<Appender<ILoggingEvent>> it = root.iteratorForAppenders(); it.hasNext(); ) {
      if (it.next() instanceof OutputStreamAppender<ILoggingEvent> out) {
        JsonLogEncoder enc = new JsonLogEncoder();
        enc.setContext(ctx);
        enc.start();
        out.stop();
        out.setEncoder(enc);
        out.start();
      }
    }
  }
}
