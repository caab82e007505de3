package dev.veil.client;

import dev.veil.hostile.HostileRelay;
import dev.veil.server.ServerConfig;
import dev.veil.server.VeilServer;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * A real in-process veil-server (E2EE allowed, ephemeral ports), optionally behind a {@link HostileRelay} (the
 * peers then connect through it), and the {@link TestPeer}s made on it; {@link #close()} closes the peers, then the
 * relay, then the server. The end-to-end tests get one per test by extending {@link PerTest}.
 */
final class ServerFixture implements AutoCloseable {
    /** The base of the end-to-end tests: a fresh {@link #fixture} before each test, closed after it. */
    abstract static class PerTest {
        ServerFixture fixture;

        /** The fixture each test runs on: a plain server (override: {@link #behindHostileRelay}). */
        ServerFixture newFixture() throws Exception {
            return new ServerFixture();
        }

        @BeforeEach
        final void startFixture() throws Exception {
            fixture = newFixture();
        }

        @AfterEach
        final void closeFixture() {
            fixture.close();
        }
    }

    /** The base of the hostile-server tests: {@link PerTest} on a fixture {@link #behindHostileRelay}. */
    abstract static class BehindHostileRelay extends PerTest {
        /** The fixture's hostile relay, for the test to script. */
        HostileRelay relay;

        @Override
        final ServerFixture newFixture() throws Exception {
            return behindHostileRelay();
        }

        @BeforeEach
        final void takeRelay() {
            relay = fixture.relay;
        }
    }

    final VeilServer server;
    final URI url;
    /** The hostile server in front of the real one ({@link #behindHostileRelay}), else null. */
    final HostileRelay relay;
    private final List<TestPeer> peers = new ArrayList<>();

    ServerFixture() throws Exception {
        this(false);
    }

    private ServerFixture(boolean hostile) throws Exception {
        server = new VeilServer(ServerConfig.defaults().withPorts(0, 0).withE2ee(true));
        server.start();
        relay = hostile ? new HostileRelay(server.httpPort()) : null;
        url = hostile ? relay.uri() : URI.create("ws://127.0.0.1:" + server.httpPort() + "/signaling");
    }

    /** The server's counter {@code name} (0 while it has not counted anything). */
    long counter(String name) {
        return server.counters().getOrDefault(name, 0L);
    }

    /** A server whose peers connect through a {@link HostileRelay} (the malicious server of the threat model). */
    static ServerFixture behindHostileRelay() throws Exception {
        return new ServerFixture(true);
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
        if (relay != null) {
            try {
                relay.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing the hostile relay", e);
            }
        }
        server.close();
    }
}
