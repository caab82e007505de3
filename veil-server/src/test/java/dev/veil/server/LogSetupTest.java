package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.core.ConsoleAppender;
import org.junit.jupiter.api.Test;

/** The server's logging set up in code is what its logback.xml was (LogSetup). */
class LogSetupTest {
  @Test
  void standardErrorWithThePatternAndLevels() {
    LoggerContext ctx = new LoggerContext();
    LogSetup setup = new LogSetup();
    setup.setContext(ctx);
    assertEquals(Configurator.ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY, setup.configure(ctx));
    Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
    assertEquals(Level.INFO, root.getLevel());
    ConsoleAppender<?> out = assertInstanceOf(ConsoleAppender.class, root.getAppender("STDERR"));
    assertEquals("System.err", out.getTarget());
    assertTrue(out.isStarted());
    assertEquals(LogSetup.PATTERN, ((PatternLayoutEncoder) out.getEncoder()).getPattern());
    assertEquals(Level.WARN, ctx.getLogger("org.eclipse.jetty").getLevel());
    assertEquals(Level.toLevel(LogSetup.veilLevel(), Level.INFO), ctx.getLogger("dev.veil").getLevel());
    assertEquals(Level.WARN, ctx.getLogger("org.eclipse.jetty.server.Server").getEffectiveLevel());
  }

  @Test
  void theRunningServerUsesIt() {
    LoggerContext ctx = (LoggerContext) org.slf4j.LoggerFactory.getILoggerFactory();
    Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
    assertInstanceOf(ConsoleAppender.class, root.getAppender("STDERR"));
    assertEquals(Level.WARN, ctx.getLogger("org.eclipse.jetty").getLevel());
  }
}
