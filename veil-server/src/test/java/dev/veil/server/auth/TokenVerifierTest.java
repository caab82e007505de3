package dev.veil.server.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import dev.veil.signaling.Role;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One test per refusal of docs/PROTOCOL.md §3's token codes, on a manual clock (nowMillis passed in). */
class TokenVerifierTest {
  private static final long NOW = 1_800_000_000_000L;
  private static final byte[] SECRET = "0123456789abcdef0123456789abcdef-test-secret".getBytes(StandardCharsets.US_ASCII);
  private static final KeyPair EC = ecKeyPair(1);

  private final TokenVerifier hs = new TokenVerifier(new AuthConfig(true, SECRET, null, 30));
  private final TokenVerifier es = new TokenVerifier(new AuthConfig(true, null, (ECPublicKey) EC.getPublic(), 30));
  private final TokenVerifier both =
      new TokenVerifier(new AuthConfig(true, SECRET, (ECPublicKey) EC.getPublic(), 30));

  static KeyPair ecKeyPair(int seed) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      SecureRandom r = SecureRandom.getInstance("SHA1PRNG");
      r.setSeed(seed);
      g.initialize(new ECGenParameterSpec("secp256r1"), r);
      return g.generateKeyPair();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static JWTClaimsSet.Builder claims(String channel, List<String> roles, long expMillis) {
    return new JWTClaimsSet.Builder().claim("channel", channel).claim("roles", roles)
        .expirationTime(new Date(expMillis));
  }

  private static String sign(JWSAlgorithm alg, JWSSigner signer, JWTClaimsSet c) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).type(JOSEObjectType.JWT).build(), c);
    jwt.sign(signer);
    return jwt.serialize();
  }

  private static String hs256(byte[] secret, JWTClaimsSet c) throws Exception {
    return sign(JWSAlgorithm.HS256, new MACSigner(secret), c);
  }

  private static String es256(KeyPair kp, JWTClaimsSet c) throws Exception {
    return sign(JWSAlgorithm.ES256, new ECDSASigner((ECPrivateKey) kp.getPrivate()), c);
  }

  private static JWTClaimsSet good() {
    return claims("room", List.of("publish", "subscribe"), NOW + 60_000).build();
  }

  private static void assertRefused(String code, Verdict v) {
    Verdict.Refused r = assertInstanceOf(Verdict.Refused.class, v);
    assertEquals(code, r.code(), r.reason());
    assertTrue(r.message().startsWith(code + ": "));
  }

  private static void assertAllowed(Verdict v) {
    assertInstanceOf(Verdict.Allowed.class, v, v::toString);
  }

  // --------------------------------------------------------------------------------------------- allowed

  @Test
  void openMode_allowsWithoutToken() {
    Verdict v = new TokenVerifier(AuthConfig.open()).check(null, "room", Role.SENDRECV, NOW);
    assertAllowed(v);
  }

  @Test
  void hs256_goodToken_isAllowed() throws Exception {
    Verdict v = hs.check(hs256(SECRET, claims("room", List.of("publish", "subscribe"), NOW + 60_000)
        .subject("alice").build()), "room", Role.SENDRECV, NOW);
    Verdict.Allowed a = assertInstanceOf(Verdict.Allowed.class, v);
    assertEquals("alice", a.subject());
  }

  @Test
  void es256_goodToken_isAllowed() throws Exception {
    assertAllowed(es.check(es256(EC, good()), "room", Role.SENDRECV, NOW));
    assertAllowed(both.check(es256(EC, good()), "room", Role.SENDRECV, NOW));
    assertAllowed(both.check(hs256(SECRET, good()), "room", Role.SENDRECV, NOW));
  }

  @Test
  void expiredWithinClockSkew_isAllowed() throws Exception {
    String t = hs256(SECRET, claims("room", List.of("publish", "subscribe"), NOW - 29_000).build());
    assertAllowed(hs.check(t, "room", Role.SENDRECV, NOW));
  }

  // --------------------------------------------------------------------------------------------- refused

  @Test
  void missingToken_isRefused() {
    assertRefused("token_missing", hs.check(null, "room", Role.SENDRECV, NOW));
    assertRefused("token_missing", hs.check("", "room", Role.SENDRECV, NOW));
  }

  @Test
  void garbage_isRefusedAsInvalid() {
    assertRefused("token_invalid", hs.check("not.a.jwt", "room", Role.SENDRECV, NOW));
    assertRefused("token_invalid", hs.check("abc", "room", Role.SENDRECV, NOW));
  }

  @Test
  void expired_isRefused() throws Exception {
    String t = hs256(SECRET, claims("room", List.of("publish", "subscribe"), NOW - 31_000).build());
    assertRefused("token_expired", hs.check(t, "room", Role.SENDRECV, NOW));
  }

  @Test
  void withoutExpiry_isRefused() throws Exception {
    String t = hs256(SECRET, new JWTClaimsSet.Builder().claim("channel", "room")
        .claim("roles", List.of("publish", "subscribe")).build());
    assertRefused("token_invalid", hs.check(t, "room", Role.SENDRECV, NOW));
  }

  @Test
  void notYetValid_isRefused_butWithinSkewAllowed() throws Exception {
    String later = hs256(SECRET, claims("room", List.of("publish", "subscribe"), NOW + 600_000)
        .notBeforeTime(new Date(NOW + 31_000)).build());
    assertRefused("token_not_yet_valid", hs.check(later, "room", Role.SENDRECV, NOW));
    String soon = hs256(SECRET, claims("room", List.of("publish", "subscribe"), NOW + 600_000)
        .notBeforeTime(new Date(NOW + 29_000)).build());
    assertAllowed(hs.check(soon, "room", Role.SENDRECV, NOW));
  }

  @Test
  void wrongSecret_isRefusedAsForged() throws Exception {
    byte[] other = SECRET.clone();
    other[0] ^= 1;
    assertRefused("token_forged", hs.check(hs256(other, good()), "room", Role.SENDRECV, NOW));
  }

  @Test
  void tamperedClaims_areRefusedAsForged() throws Exception {
    String[] parts = hs256(SECRET, claims("room", List.of("subscribe"), NOW + 60_000).build()).split("\\.");
    String payload = Base64.getUrlEncoder().withoutPadding().encodeToString(
        ("{\"channel\":\"room\",\"roles\":[\"publish\",\"subscribe\"],\"exp\":" + (NOW / 1000 + 60) + "}")
            .getBytes(StandardCharsets.UTF_8));
    assertRefused("token_forged", hs.check(parts[0] + "." + payload + "." + parts[2], "room", Role.SENDRECV, NOW));
  }

  @Test
  void algNone_isRefused() {
    String t = new PlainJWT(good()).serialize();
    assertRefused("token_forged", hs.check(t, "room", Role.SENDRECV, NOW));
    assertRefused("token_forged", both.check(t, "room", Role.SENDRECV, NOW));
  }

  @Test
  void algConfusion_hs256SignedWithThePublicKey_isRefused() throws Exception {
    // the classic confusion: HMAC keyed with the (public) verification key's bytes
    byte[] pub = EC.getPublic().getEncoded();
    assertRefused("token_forged", es.check(hs256(pub, good()), "room", Role.SENDRECV, NOW));
    assertRefused("token_forged", both.check(hs256(pub, good()), "room", Role.SENDRECV, NOW));
  }

  @Test
  void es256Token_onHs256OnlyServer_andForeignKey_areRefused() throws Exception {
    assertRefused("token_forged", hs.check(es256(EC, good()), "room", Role.SENDRECV, NOW));
    assertRefused("token_forged", es.check(es256(ecKeyPair(2), good()), "room", Role.SENDRECV, NOW));
  }

  @Test
  void otherHmacAlgorithm_isRefused() throws Exception {
    assertRefused("token_forged", hs.check(sign(JWSAlgorithm.HS512, new MACSigner(
        (new String(SECRET, StandardCharsets.US_ASCII) + new String(SECRET, StandardCharsets.US_ASCII))
            .getBytes(StandardCharsets.US_ASCII)), good()), "room", Role.SENDRECV, NOW));
  }

  @Test
  void wrongChannel_isRefused() throws Exception {
    assertRefused("token_wrong_channel", hs.check(hs256(SECRET, good()), "other", Role.SENDRECV, NOW));
    String noChannel = hs256(SECRET, new JWTClaimsSet.Builder().claim("roles", List.of("publish", "subscribe"))
        .expirationTime(new Date(NOW + 60_000)).build());
    assertRefused("token_wrong_channel", hs.check(noChannel, "room", Role.SENDRECV, NOW));
  }

  @Test
  void subscribeOnly_cannotPublish_butMayReceive() throws Exception {
    String t = hs256(SECRET, claims("room", List.of("subscribe"), NOW + 60_000).build());
    assertRefused("token_role", hs.check(t, "room", Role.SENDRECV, NOW));
    assertRefused("token_role", hs.check(t, "room", Role.SENDONLY, NOW));
    assertAllowed(hs.check(t, "room", Role.RECVONLY, NOW));
  }

  @Test
  void publishOnly_cannotSubscribe() throws Exception {
    String t = hs256(SECRET, claims("room", List.of("publish"), NOW + 60_000).build());
    assertRefused("token_role", hs.check(t, "room", Role.RECVONLY, NOW));
    assertRefused("token_role", hs.check(t, "room", Role.SENDRECV, NOW));
    assertAllowed(hs.check(t, "room", Role.SENDONLY, NOW));
  }

  @Test
  void malformedRoles_areRefusedAsInvalid() throws Exception {
    String t = hs256(SECRET, new JWTClaimsSet.Builder().claim("channel", "room").claim("roles", "publish")
        .expirationTime(new Date(NOW + 60_000)).build());
    assertRefused("token_invalid", hs.check(t, "room", Role.SENDONLY, NOW));
  }

  // --------------------------------------------------------------------------------------- config, minting

  @Test
  void secretNeverInToString_andShortSecretsRefused() {
    AuthConfig a = new AuthConfig(true, SECRET, null, 30);
    assertFalse(a.toString().contains("0123456789abcdef"), a::toString);
    assertThrows(IllegalArgumentException.class, () -> new AuthConfig(true, new byte[31], null, 30));
    assertThrows(IllegalArgumentException.class, () -> new AuthConfig(true, null, null, 30));
  }

  @Test
  void mintedToken_verifies_andFilesAreRead(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("secret");
    Files.write(f, (new String(SECRET, StandardCharsets.US_ASCII) + "\n").getBytes(StandardCharsets.US_ASCII));
    byte[] read = AuthConfig.readSecret(f);
    assertEquals(SECRET.length, read.length);
    String t = MintToken.mint(read, "room", List.of("subscribe"), "bob", NOW, 60);
    assertAllowed(hs.check(t, "room", Role.RECVONLY, NOW + 59_000));
    assertRefused("token_expired", hs.check(t, "room", Role.RECVONLY, NOW + 91_000));
    Path pem = dir.resolve("pub.pem");
    Files.writeString(pem, "-----BEGIN PUBLIC KEY-----\n"
        + Base64.getMimeEncoder().encodeToString(EC.getPublic().getEncoded()) + "\n-----END PUBLIC KEY-----\n");
    assertEquals(EC.getPublic(), AuthConfig.readEcPublicKey(pem));
  }
}
