package dev.veil.client;

import dev.veil.server.ServerConfig;
import dev.veil.server.VeilServer;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/**
 * A real in-process veil-server (E2EE allowed, ephemeral ports) and the {@link TestPeer}s made on it; {@link #close()}
 * closes the peers, then the server. For the end-to-end tests' {@code @BeforeEach}/{@code @AfterEach}.
 */
final class ServerFixture implements AutoCloseable {
    final VeilServer server;
    final URI url;
    private final List<TestPeer> peers = new ArrayList<>();

    ServerFixture() throws Exception {
        server = new VeilServer(ServerConfig.defaults().withPorts(0, 0).withE2ee(true));
        server.start();
        url = URI.create("ws://127.0.0.1:" + server.httpPort() + "/signaling");
    }

    /** A peer on this server (closed with it), not connected yet. */
    TestPeer peer(String name, String channel, Options options) {
        TestPeer p = new TestPeer(name, url, channel, options);
        peers.add(p);
        return p;
    }

    /** A peer on this server, connected. */
    TestPeer join(String name, String channel, Options options) throws Exception {
        return peer(name, channel, options).connect();
    }

    @Override
    public void close() {
        for (TestPeer p : peers) {
            p.close();
        }
        server.close();
    }
}
