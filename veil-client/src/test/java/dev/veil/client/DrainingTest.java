package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.veil.server.ServerConfig;
import dev.veil.server.VeilServer;
import java.net.URI;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A real server drains (docs/PROTOCOL.md §1.10): the Java SDK reports {@code onDraining} with the deadline, and the
 * drain is over as soon as the member has left.
 */
class DrainingTest {
    @Test
    void drainingServer_isReportedToTheApplication_andEndsWhenTheMemberLeaves() throws Exception {
        try (VeilServer server = new VeilServer(ServerConfig.defaults().withPorts(0, 0).withE2ee(true))) {
            server.start();
            URI url = URI.create("ws://127.0.0.1:" + server.httpPort() + "/signaling");
            CompletableFuture<Long> told = new CompletableFuture<>();
            Connection c = VeilClient.connection(url).sendrecv("room", null,
                    Options.plain().withConnectTimeoutMillis(60_000)); // generous: the machine may be loaded
            c.addListener(new Connection.Listener() {
                @Override
                public void onDraining(long deadlineMs) {
                    told.complete(deadlineMs);
                }
            });
            c.connect().get(90, TimeUnit.SECONDS);
            var drained = server.drain();
            assertEquals(60_000L, told.get(TestPeer.DEADLINE_MS, TimeUnit.MILLISECONDS), "drain_timeout_seconds");
            c.disconnect().get(10, TimeUnit.SECONDS);
            assertEquals("EMPTY", drained.get(TestPeer.DEADLINE_MS, TimeUnit.MILLISECONDS).name());
        }
    }
}
