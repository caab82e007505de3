package dev.veil.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;

/**
 * The server's logging set up in code (a logback {@link Configurator} found through {@code META-INF/services}): to
 * standard error, so that standard output carries only the machine-readable "veil-server listening ..." line;
 * {@code org.eclipse.jetty} at WARN, {@code dev.veil} at {@code VEIL_LOG_LEVEL} (environment or system property,
 * default INFO), the rest at INFO. Never log key material, SDP secrets or media.
 *
 * <p>Equivalent to the {@code logback.xml} it replaces, but without logback's XML configurator (Joran) and the JDK's
 * SAX parser, ~370 classes (≈ 2 MiB of class metadata) that a server holds for its lifetime (docs/BENCHMARKS.md,
 * issue 10 memory). {@code -Dlogback.configurationFile=FILE} still configures logback from FILE: this configurator
 * then steps aside.
 */
public final class LogSetup extends ContextAwareBase implements Configurator {
  static final String PATTERN = "%d{HH:mm:ss.SSS} %-5level [%thread] %logger{24} - %msg%n";

  @Override
  public ExecutionStatus configure(LoggerContext ctx) {
    if (System.getProperty("logback.configurationFile") != null) {
      return ExecutionStatus.INVOKE_NEXT_IF_ANY;
    }
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(ctx);
    encoder.setPattern(PATTERN);
    encoder.start();
    ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
    stderr.setContext(ctx);
    stderr.setName("STDERR");
    stderr.setTarget("System.err");
    stderr.setEncoder(encoder);
    stderr.start();
    Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.INFO);
    root.addAppender(stderr);
    ctx.getLogger("org.eclipse.jetty").setLevel(Level.WARN);
    ctx.getLogger("dev.veil").setLevel(Level.toLevel(veilLevel(), Level.INFO));
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }

  /** {@code VEIL_LOG_LEVEL} as logback's {@code ${VEIL_LOG_LEVEL:-INFO}} resolved it: system property, then environment. */
  static String veilLevel() {
    String v = System.getProperty("VEIL_LOG_LEVEL");
    if (v == null) {
      v = System.getenv("VEIL_LOG_LEVEL");
    }
    return v == null ? "INFO" : v;
  }
}
