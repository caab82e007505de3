package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code auth} section of the config file (docs/PROTOCOL.md §1.6). */
class AuthConfigLoadTest {
  private static final String SECRET = "s3cr3t-value-that-is-long-enough-for-hs256";

  private static Path conf(Path dir, String text) throws Exception {
    Path f = dir.resolve("veil.conf");
    Files.writeString(f, text);
    return f;
  }

  @Test
  void defaultIsOpen() {
    assertFalse(ServerConfig.defaults().auth().tokenRequired());
  }

  @Test
  void tokenMode_readsSecretAndKeyFiles(@TempDir Path dir) throws Exception {
    Path secret = dir.resolve("hs.secret");
    Files.writeString(secret, SECRET + "\n");
    var g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    Path pem = dir.resolve("es.pem");
    Files.writeString(pem, "-----BEGIN PUBLIC KEY-----\n"
        + Base64.getMimeEncoder().encodeToString(g.generateKeyPair().getPublic().getEncoded())
        + "\n-----END PUBLIC KEY-----\n");
    ServerConfig c = ServerConfig.load(conf(dir, "auth { mode = \"token\", hs256_secret_file = \"" + secret
        + "\", es256_public_key_file = \"" + pem + "\", clock_skew_seconds = 5 }").toFile());
    assertTrue(c.auth().tokenRequired());
    assertEquals(SECRET.length(), c.auth().hs256Secret().length);
    assertNotNull(c.auth().es256Key());
    assertEquals(5, c.auth().clockSkewSeconds());
    assertFalse(c.toString().contains(SECRET), "the secret is not in the config's toString");
  }

  @Test
  void badAuthSettings_areRefusedWithoutQuotingTheSecret(@TempDir Path dir) throws Exception {
    Path shortSecret = dir.resolve("short.secret");
    Files.writeString(shortSecret, "too-short-secret");
    var e1 = assertThrows(ServerConfig.ConfigurationException.class, () -> ServerConfig.load(
        conf(dir, "auth { mode = \"token\", hs256_secret_file = \"" + shortSecret + "\" }").toFile()));
    assertFalse(e1.getMessage().contains("too-short-secret"), e1.getMessage());
    var e2 = assertThrows(ServerConfig.ConfigurationException.class,
        () -> ServerConfig.load(conf(dir, "auth.mode = \"token\"").toFile()));
    assertTrue(e2.getMessage().contains("hs256_secret_file"), e2.getMessage());
    var e3 = assertThrows(ServerConfig.ConfigurationException.class,
        () -> ServerConfig.load(conf(dir, "auth.mode = \"jwt\"").toFile()));
    assertTrue(e3.getMessage().contains("auth.mode"), e3.getMessage());
    Path notPem = dir.resolve("not.pem");
    Files.writeString(notPem, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
    assertThrows(ServerConfig.ConfigurationException.class, () -> ServerConfig.load(
        conf(dir, "auth { mode = \"token\", es256_public_key_file = \"" + notPem + "\" }").toFile()));
    assertThrows(ServerConfig.ConfigurationException.class, () -> ServerConfig.load(
        conf(dir, "auth { mode = \"token\", hs256_secret_file = \"" + dir.resolve("missing") + "\" }").toFile()));
  }
}
