package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The connect timeout runs on the injected clock: a server that never answers fails the connect when it says. */
class ConnectTimeoutTest {
    @Test
    void connect_toSilentServer_failsAtTheInjectedDeadline_withTheStage() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Socket> accepted = CompletableFuture.supplyAsync(() -> {
                try {
                    return silent.accept(); // TCP is accepted, the WebSocket upgrade is never answered
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            AtomicLong now = new AtomicLong(1_000_000);
            Connection c = VeilClient.connection(URI.create("ws://127.0.0.1:" + silent.getLocalPort() + "/signaling"))
                    .sendrecv("room", null, Options.plain().withClock(now::get).withConnectTimeoutMillis(3_000));
            CompletableFuture<Connection> f = c.connect();
            try (Socket s = accepted.get(10, TimeUnit.SECONDS)) {
                now.addAndGet(2_999);
                // the loop wakes at least every 250 ms; one deadline-free round trip through it shows it is still
                // waiting at 2 999 ms
                c.onLoopForTesting(() -> { }).get(5, TimeUnit.SECONDS);
                assertFalse(f.isDone(), "not before the deadline");
                now.addAndGet(1);
                ExecutionException ex = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
                VeilClientException vce = assertInstanceOf(VeilClientException.class, ex.getCause());
                assertEquals("connect timed out after 3000 ms while opening the signaling WebSocket ws://127.0.0.1:"
                        + silent.getLocalPort() + "/signaling", vce.getMessage());
                c.disconnect().get(10, TimeUnit.SECONDS);
                assertTrue(c.e2eeDestroyedForTesting());
            }
        }
    }
}
