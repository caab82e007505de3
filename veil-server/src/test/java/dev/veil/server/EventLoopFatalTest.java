package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The loop's guard: a RuntimeException costs only its task; any Error goes to the fatal handler. */
class EventLoopFatalTest {
  @Test
  void runtimeException_isLoggedOnly_error_isFatal_andTheLoopRunsOn() throws Exception {
    CompletableFuture<Throwable> fatal = new CompletableFuture<>();
    EventLoop loop = new EventLoop("test-loop", (what, t) -> fatal.complete(t));
    try {
      loop.start();
      loop.execute(() -> {
        throw new IllegalStateException("a bug in one connection");
      });
      CompletableFuture<Boolean> after = new CompletableFuture<>();
      loop.execute(() -> after.complete(true));
      assertTrue(after.get(10, TimeUnit.SECONDS));
      assertFalse(fatal.isDone());
      loop.execute(() -> {
        throw new StackOverflowError("injected");
      });
      Throwable t = fatal.get(10, TimeUnit.SECONDS);
      assertEquals(StackOverflowError.class, t.getClass());
    } finally {
      loop.stop(3000);
    }
  }

  @Test
  void loopEndingWithoutStop_isFatal_stopIsNot() throws Exception {
    CompletableFuture<String> fatal = new CompletableFuture<>();
    EventLoop loop = new EventLoop("test-loop", (what, t) -> fatal.complete(what));
    loop.start();
    loop.terminateForTesting();
    assertEquals("the event loop thread ended", fatal.get(10, TimeUnit.SECONDS));

    CompletableFuture<String> none = new CompletableFuture<>();
    EventLoop stopped = new EventLoop("test-loop-2", (what, t) -> none.complete(what));
    stopped.start();
    stopped.stop(3000);
    CompletableFuture<Boolean> barrier = new CompletableFuture<>();
    java.util.concurrent.ForkJoinPool.commonPool().execute(() -> barrier.complete(true));
    barrier.get(10, TimeUnit.SECONDS);
    assertFalse(none.isDone());
  }
}
