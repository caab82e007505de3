package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.server.NetConfig;
import dev.veil.server.ServerConfig;
import dev.veil.server.VeilServer;
import dev.veil.signaling.IceServer;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A real server with TURN configured: the Java SDK parses the offer's ice_servers and exposes them (it still connects
 * over the UDP host candidate; the offer now also announces an ICE-TCP candidate, which it leaves alone).
 */
class IceServersTest {
    @Test
    void offeredTurnServersAreParsed_andTheCallStillConnectsOverUdp() throws Exception {
        NetConfig.Turn turn = new NetConfig.Turn(List.of("turn:127.0.0.1:3478?transport=tcp"),
                "java-sdk-turn-secret".getBytes(StandardCharsets.US_ASCII), 900);
        ServerConfig cfg = ServerConfig.defaults().withPorts(0, 0).withE2ee(false);
        try (VeilServer server = new VeilServer(cfg.withNet(cfg.net().withTurn(turn)))) {
            server.start();
            assertTrue(server.rtcTcpPort() > 0, "ICE-TCP is on by default");
            URI url = URI.create("ws://127.0.0.1:" + server.httpPort() + "/signaling");
            Connection c = VeilClient.connection(url).sendrecv("turn-java", null,
                    Options.plain().withConnectTimeoutMillis(60_000)); // loaded test machines
            c.connect().get(90, TimeUnit.SECONDS);
            List<IceServer> servers = c.iceServers();
            assertEquals(1, servers.size());
            assertEquals(List.of("turn:127.0.0.1:3478?transport=tcp"), servers.get(0).urls());
            assertTrue(servers.get(0).username().endsWith(":" + c.connectionId()), servers.get(0).username());
            assertEquals(28, servers.get(0).credential().length(), "base64 of a 20-byte HMAC-SHA1");
            c.disconnect().get(10, TimeUnit.SECONDS);
        }
    }
}
