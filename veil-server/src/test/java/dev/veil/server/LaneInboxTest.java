package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** {@link LaneInbox} on a manual executor (the lane's loop): order, bounds, reuse, batching, failures. */
class LaneInboxTest {
  private static final InetSocketAddress A = new InetSocketAddress(InetAddress.getLoopbackAddress(), 5000);

  /** Runs the tasks it was given when told to, on the test's thread. */
  private static final class ManualLoop implements Executor {
    final ArrayDeque<Runnable> tasks = new ArrayDeque<>();

    @Override
    public void execute(Runnable r) {
      tasks.add(r);
    }

    int runAll() {
      int n = 0;
      for (Runnable r; (r = tasks.poll()) != null; n++) {
        r.run();
      }
      return n;
    }
  }

  private static LaneInbox.Parcel parcel(LaneInbox inbox, int value, int len) {
    LaneInbox.Parcel p = inbox.take();
    byte[] data = new byte[len];
    Arrays.fill(data, (byte) value);
    p.fill(data, 0, len);
    p.addr = A;
    p.send = true;
    return p;
  }

  @Test
  void parcelsArriveInOrder_withOneWakeUpForABurst() {
    ManualLoop loop = new ManualLoop();
    List<byte[]> seen = new ArrayList<>();
    LaneInbox inbox = new LaneInbox(loop, 100, p -> seen.add(Arrays.copyOf(p.buf, p.len)));
    for (int i = 0; i < 10; i++) {
      assertTrue(inbox.offer(parcel(inbox, i, 3 + i)));
    }
    assertEquals(1, loop.tasks.size(), "one drain scheduled for the whole burst");
    assertEquals(10, inbox.waiting());
    loop.runAll();
    assertEquals(10, seen.size());
    for (int i = 0; i < 10; i++) {
      byte[] expected = new byte[3 + i];
      Arrays.fill(expected, (byte) i);
      assertArrayEquals(expected, seen.get(i));
    }
    assertEquals(0, inbox.waiting());
    assertTrue(loop.tasks.isEmpty(), "nothing left to run");
  }

  @Test
  void pastTheBound_offersAreRefused_andTheRefusedParcelIsReused() {
    ManualLoop loop = new ManualLoop();
    AtomicInteger handled = new AtomicInteger();
    LaneInbox inbox = new LaneInbox(loop, 5, p -> handled.incrementAndGet()); // not a power of two: exact anyway
    for (int i = 0; i < 5; i++) {
      assertTrue(inbox.offer(parcel(inbox, i, 10)));
    }
    LaneInbox.Parcel refused = parcel(inbox, 9, 10);
    assertFalse(inbox.offer(refused));
    assertEquals(5, inbox.waiting());
    assertNull(refused.addr, "a refused parcel is cleared and goes back idle");
    assertEquals(6, inbox.created());
    assertTrue(inbox.take() == refused, "and is the next one taken");
    loop.runAll();
    assertEquals(5, handled.get());
    assertTrue(inbox.offer(parcel(inbox, 1, 10)), "room again once drained");
  }

  @Test
  void offerAll_acceptsUpToTheBound_clearsTheSlots_andWakesOnce() {
    ManualLoop loop = new ManualLoop();
    AtomicInteger handled = new AtomicInteger();
    LaneInbox inbox = new LaneInbox(loop, 3, p -> handled.incrementAndGet());
    LaneInbox.Parcel[] batch = new LaneInbox.Parcel[5];
    for (int i = 0; i < 5; i++) {
      batch[i] = parcel(inbox, i, 8);
    }
    assertEquals(3, inbox.offerAll(batch, 5));
    for (LaneInbox.Parcel p : batch) {
      assertNull(p, "the caller's slots are cleared");
    }
    assertEquals(1, loop.tasks.size());
    loop.runAll();
    assertEquals(3, handled.get());
  }

  @Test
  void steadyTraffic_reusesParcels_andAllocatesNoMore() {
    ManualLoop loop = new ManualLoop();
    LaneInbox inbox = new LaneInbox(loop, 1000, p -> { });
    for (int round = 0; round < 100; round++) {
      for (int i = 0; i < 20; i++) {
        assertTrue(inbox.offer(parcel(inbox, i, 1200)));
      }
      loop.runAll();
    }
    assertEquals(20, inbox.created(), "the 20 parcels of one turn, reused for the 99 others");
  }

  @Test
  void aLargerDatagram_growsItsParcel() {
    ManualLoop loop = new ManualLoop();
    List<Integer> lengths = new ArrayList<>();
    LaneInbox inbox = new LaneInbox(loop, 10, p -> lengths.add(p.len));
    assertTrue(inbox.offer(parcel(inbox, 1, MediaLane.MAX_DATAGRAM + 500)));
    loop.runAll();
    assertEquals(List.of(MediaLane.MAX_DATAGRAM + 500), lengths);
  }

  @Test
  void aFloodIsDrainedInBatches_soTheLoopGetsTurnsInBetween() {
    ManualLoop loop = new ManualLoop();
    AtomicInteger handled = new AtomicInteger();
    int total = LaneInbox.DRAIN_BATCH * 2 + 7;
    LaneInbox inbox = new LaneInbox(loop, total, p -> handled.incrementAndGet());
    for (int i = 0; i < total; i++) {
      assertTrue(inbox.offer(parcel(inbox, i, 4)));
    }
    loop.tasks.poll().run();
    assertEquals(LaneInbox.DRAIN_BATCH, handled.get(), "one batch per task");
    assertEquals(1, loop.tasks.size(), "the rest is scheduled again, behind the loop's other tasks");
    loop.runAll();
    assertEquals(total, handled.get());
  }

  @Test
  void aFailingHandler_costsOnlyItsParcel() {
    ManualLoop loop = new ManualLoop();
    List<Integer> seen = new ArrayList<>();
    LaneInbox inbox = new LaneInbox(loop, 10, p -> {
      if (p.buf[0] == 2) {
        throw new IllegalStateException("bad datagram");
      }
      seen.add((int) p.buf[0]);
    });
    for (int i = 1; i <= 3; i++) {
      assertTrue(inbox.offer(parcel(inbox, i, 4)));
    }
    loop.runAll();
    assertEquals(List.of(1, 3), seen);
    assertEquals(0, inbox.waiting());
  }

  @Test
  void manyProducers_oneConsumer_nothingLostOrDuplicated() throws Exception {
    // the lane's loop: a single thread; the producers: other lanes' threads
    java.util.concurrent.ExecutorService consumer = java.util.concurrent.Executors.newSingleThreadExecutor();
    try {
      int producers = 4;
      int each = 20_000;
      long[] sums = new long[producers];
      AtomicInteger handled = new AtomicInteger();
      CountDownLatch done = new CountDownLatch(1);
      LaneInbox inbox = new LaneInbox(consumer, producers * each, p -> {
        int who = p.buf[0];
        int seq = ((p.buf[1] & 0xFF) << 16) | ((p.buf[2] & 0xFF) << 8) | (p.buf[3] & 0xFF);
        sums[who] += seq; // only the consumer thread writes
        if (handled.incrementAndGet() == producers * each) {
          done.countDown();
        }
      });
      Thread[] threads = new Thread[producers];
      for (int t = 0; t < producers; t++) {
        int who = t;
        threads[t] = new Thread(() -> {
          byte[] b = new byte[4];
          for (int i = 0; i < each; i++) {
            b[0] = (byte) who;
            b[1] = (byte) (i >>> 16);
            b[2] = (byte) (i >>> 8);
            b[3] = (byte) i;
            LaneInbox.Parcel p = inbox.take();
            p.fill(b, 0, 4);
            assertTrue(inbox.offer(p));
          }
        });
        threads[t].start();
      }
      for (Thread t : threads) {
        t.join();
      }
      assertTrue(done.await(30, TimeUnit.SECONDS), "handled " + handled.get());
      long expected = (long) each * (each - 1) / 2;
      consumer.submit(() -> {
        for (long s : sums) {
          assertEquals(expected, s);
        }
      }).get();
      assertEquals(producers * each, handled.get());
    } finally {
      consumer.shutdownNow();
    }
  }
}
