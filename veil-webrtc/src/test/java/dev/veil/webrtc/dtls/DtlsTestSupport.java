package dev.veil.webrtc.dtls;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/** Moves datagrams between two engines in memory, waiting for each worker to go idle (no sleeps). */
final class DtlsTestSupport {
    private DtlsTestSupport() {
    }

    static ExecutorService daemonPool() {
        return Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "dtls-test-worker");
            t.setDaemon(true);
            return t;
        });
    }

    /** Exchanges datagrams until neither side has anything left to say. */
    static void pump(DtlsEngine a, DtlsEngine b, long nowMillis) throws InterruptedException {
        for (int round = 0; round < 100; round++) {
            a.awaitIdle();
            b.awaitIdle();
            boolean moved = deliver(a, b, nowMillis) | deliver(b, a, nowMillis);
            if (!moved) {
                return;
            }
        }
        throw new AssertionError("DTLS exchange did not settle in 100 rounds");
    }

    private static boolean deliver(DtlsEngine from, DtlsEngine to, long nowMillis) {
        boolean moved = false;
        for (byte[] d; (d = from.pollTransmit()) != null;) {
            to.handleDatagram(d, nowMillis);
            moved = true;
        }
        return moved;
    }

    static List<DtlsEvent> drainEvents(DtlsEngine e) {
        List<DtlsEvent> out = new ArrayList<>();
        for (DtlsEvent ev; (ev = e.pollEvent()) != null;) {
            out.add(ev);
        }
        return out;
    }
}
