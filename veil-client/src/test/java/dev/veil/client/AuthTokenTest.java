package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.veil.server.ServerConfig;
import dev.veil.server.VeilServer;
import dev.veil.server.auth.AuthConfig;
import dev.veil.server.auth.MintToken;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Date;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A real server with {@code auth.mode = "token"}: the Java SDK joins with good HS256 and ES256 tokens (and the members
 * decode each other), and each bad token fails connect() with the server's error code in the exception.
 */
class AuthTokenTest {
    private static final byte[] SECRET = "java-sdk-test-secret-of-32-bytes-or-more".getBytes(StandardCharsets.US_ASCII);

    private static String hs(String channel, List<String> roles, long ttlSeconds) throws Exception {
        return MintToken.mint(SECRET, channel, roles, null, System.currentTimeMillis(), ttlSeconds);
    }

    private static void assertRefused(URI url, String channel, Options o, boolean recvOnly, String code)
            throws Exception {
        VeilClient v = VeilClient.connection(url);
        Connection c = recvOnly ? v.recvonly(channel, null, o) : v.sendrecv(channel, null, o);
        ExecutionException ex = assertThrows(ExecutionException.class,
                () -> c.connect().get(TestPeer.DEADLINE_MS, TimeUnit.MILLISECONDS));
        VeilClientException vce = assertInstanceOf(VeilClientException.class, ex.getCause());
        assertTrue(vce.getMessage().contains(code + ": "), code + " <- " + vce.getMessage());
        c.disconnect().get(10, TimeUnit.SECONDS);
    }

    @Test
    void goodTokensJoin_andEachBadTokenIsRefusedWithItsCode() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair ec = g.generateKeyPair();
        AuthConfig auth = new AuthConfig(true, SECRET, (ECPublicKey) ec.getPublic(), 30);
        try (VeilServer server = new VeilServer(ServerConfig.defaults().withPorts(0, 0).withE2ee(true)
                .withAuth(auth))) {
            server.start();
            URI url = URI.create("ws://127.0.0.1:" + server.httpPort() + "/signaling");
            SignedJWT es = new SignedJWT(new JWSHeader(JWSAlgorithm.ES256), new JWTClaimsSet.Builder()
                    .claim("channel", "room").claim("roles", List.of("publish", "subscribe"))
                    .expirationTime(new Date(System.currentTimeMillis() + 60_000)).build());
            es.sign(new ECDSASigner((ECPrivateKey) ec.getPrivate()));
            try (TestPeer a = new TestPeer("a", url, "room",
                    Options.e2eeSenderKeys().withToken(hs("room", List.of("publish", "subscribe"), 60)));
                    TestPeer b = new TestPeer("b", url, "room", Options.e2eeSenderKeys().withToken(es.serialize()))) {
                a.connect();
                b.connect();
                TestPeer.exchangeUntil("a and b decode each other", List.of(a, b),
                        () -> !a.received.getOrDefault(b.connection.connectionId(), List.of()).isEmpty()
                                && !b.received.getOrDefault(a.connection.connectionId(), List.of()).isEmpty());

                String good = hs("room", List.of("publish", "subscribe"), 60);
                Options sk = Options.e2eeSenderKeys();
                assertRefused(url, "room", Options.e2eeSenderKeys(), false, "token_missing");
                assertRefused(url, "room", sk.withToken("x.y.z"), false, "token_invalid");
                assertRefused(url, "room", sk.withToken(hs("room", List.of("publish", "subscribe"), -120)),
                        false, "token_expired");
                assertRefused(url, "room", sk.withToken(good.substring(0, good.length() - 10)
                        + (good.charAt(good.length() - 10) == 'A' ? 'B' : 'A') + good.substring(good.length() - 9)),
                        false, "token_forged");
                assertRefused(url, "room", sk.withToken(hs("other", List.of("publish", "subscribe"), 60)),
                        false, "token_wrong_channel");
                assertRefused(url, "room", sk.withToken(hs("room", List.of("subscribe"), 60)), false,
                        "token_role");
                // the members with good tokens are untouched by the refusals
                assertTrue(a.connection.connectionId() != null && b.connection.connectionId() != null);
                int before = a.received.get(b.connection.connectionId()).size();
                TestPeer.exchangeUntil("media still flows", List.of(a, b),
                        () -> a.received.get(b.connection.connectionId()).size() > before);
            }
        }
    }
}
