package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.client.example.Echo;
import dev.veil.server.ServerConfig;
import dev.veil.server.VeilServer;
import java.net.ServerSocket;
import java.net.URI;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The Echo example against a real server, as a browser would use it for interop; and an unreachable server. */
class EchoTest {
    @Test
    void echo_sendsBackEveryFrame_reencryptedUnderItsOwnKey() throws Exception {
        try (VeilServer server = new VeilServer(ServerConfig.defaults().withPorts(0, 0).withE2ee(true))) {
            server.start();
            URI url = URI.create("ws://127.0.0.1:" + server.httpPort() + "/signaling");
            Connection echo = Echo.start(url, "echo-room", Options.e2eeSenderKeys());
            try (TestPeer talker = new TestPeer("talker", url, "echo-room", Options.e2eeSenderKeys())) {
                echo.connect().get(TestPeer.DEADLINE_MS, TimeUnit.MILLISECONDS);
                talker.connect();
                TestPeer.exchangeUntil("10 frames echoed", List.of(talker), () -> talker.received
                        .getOrDefault(echo.connectionId(), List.of()).size() >= 10);
                // what comes back from the echo is exactly what the talker sent (decrypted at the echo, encrypted
                // again under the echo's key, decrypted at the talker)
                for (byte[] f : talker.received.get(echo.connectionId())) {
                    assertTrue(talker.sent.contains(java.util.HexFormat.of().formatHex(f)));
                }
                assertTrue(echo.e2eeVerificationCode().equals(talker.connection.e2eeVerificationCode()));
            } finally {
                echo.close();
            }
        }
    }

    @Test
    void connect_toUnreachableServer_failsWithClearMessage() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort(); // closed again: nobody listens there
        }
        Connection c = VeilClient.connection(URI.create("ws://127.0.0.1:" + port + "/signaling"))
                .sendrecv("room", null, Options.e2eeSenderKeys());
        ExecutionException ex = assertThrows(ExecutionException.class, () -> c.connect().get(20, TimeUnit.SECONDS));
        VeilClientException vce = assertInstanceOf(VeilClientException.class, ex.getCause());
        assertTrue(vce.getMessage().startsWith("cannot open the signaling WebSocket"), vce.getMessage());
        c.disconnect().get(10, TimeUnit.SECONDS);
        assertTrue(c.e2eeDestroyedForTesting());
    }

    @Test
    void sendAudioFrame_beforeConnect_throws() {
        Connection c = VeilClient.connection(URI.create("ws://127.0.0.1:1/signaling"))
                .sendrecv("room", null, Options.plain());
        assertThrows(IllegalStateException.class, () -> c.sendAudioFrame(new byte[] {1}, 0));
        Connection r = VeilClient.connection(URI.create("ws://127.0.0.1:1/signaling"))
                .recvonly("room", null, Options.plain());
        assertThrows(IllegalStateException.class, () -> r.sendAudioFrame(new byte[] {1}, 0));
        assertThrows(IllegalArgumentException.class, () -> VeilClient.connection(URI.create("http://x/")));
        assertThrows(IllegalArgumentException.class, () -> VeilClient.connection(URI.create("ws://x/"))
                .sendrecv("bad channel", null, Options.plain()));
    }
}
