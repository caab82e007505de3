package dev.veil.server.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import dev.veil.signaling.Role;
import java.text.ParseException;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Checks the access token of a {@code connect} (sans-IO: the caller passes the wall-clock time). A token is a JWT
 * signed HS256 (shared secret) or ES256 (P-256 public key) whose claims name the {@code channel}, the {@code roles}
 * allowed ({@code publish}, {@code subscribe}) and an expiry {@code exp}; {@code nbf} and {@code sub} are optional.
 * The algorithm is chosen by the server's configuration, never by the token: an HS256 token is checked only with the
 * configured secret, an ES256 token only with the configured public key, and {@code alg: none} is refused.
 */
public final class TokenVerifier {

  /** The role claim that allows sending media ({@code sendrecv}, {@code sendonly}). */
  public static final String PUBLISH = "publish";
  /** The role claim that allows receiving media ({@code sendrecv}, {@code recvonly}). */
  public static final String SUBSCRIBE = "subscribe";

  private final AuthConfig cfg;
  private final JWSVerifier hs256;
  private final JWSVerifier es256;

  public TokenVerifier(AuthConfig cfg) {
    this.cfg = cfg;
    try {
      this.hs256 = cfg.hs256Secret() == null ? null : new MACVerifier(cfg.hs256Secret());
      this.es256 = cfg.es256Key() == null ? null : new ECDSAVerifier(cfg.es256Key());
    } catch (JOSEException e) {
      throw new IllegalArgumentException("unusable auth key: " + e.getClass().getSimpleName());
    }
  }

  /** Whether connects need a token. */
  public boolean tokenRequired() {
    return cfg.tokenRequired();
  }

  /**
   * Whether a connect to {@code channelId} as {@code role} carrying {@code token} (or {@code null}) may join at
   * {@code nowMillis} (wall-clock milliseconds since the epoch). In open mode every connect is allowed.
   */
  public Verdict check(String token, String channelId, Role role, long nowMillis) {
    if (!cfg.tokenRequired()) {
      return new Verdict.Allowed(null, Set.of(PUBLISH, SUBSCRIBE));
    }
    if (token == null || token.isEmpty()) {
      return refused("token_missing", "this server needs an access token in connect's 'token'");
    }
    JWT jwt;
    try {
      jwt = JWTParser.parse(token);
    } catch (ParseException e) {
      return refused("token_invalid", "the access token is not a JWT");
    }
    if (jwt instanceof PlainJWT) {
      return refused("token_forged", "unsigned access tokens (alg none) are not accepted");
    }
    if (!(jwt instanceof SignedJWT signed)) {
      return refused("token_invalid", "the access token is not a signed JWT (JWS)");
    }
    JWSAlgorithm alg = signed.getHeader().getAlgorithm();
    JWSVerifier verifier = JWSAlgorithm.HS256.equals(alg) ? hs256 : JWSAlgorithm.ES256.equals(alg) ? es256 : null;
    if (verifier == null) {
      return refused("token_forged", "the algorithm " + clip(alg.getName()) + " is not accepted by this server");
    }
    try {
      if (!signed.verify(verifier)) {
        return refused("token_forged", "the access token's signature does not verify");
      }
    } catch (JOSEException | IllegalStateException e) {
      return refused("token_forged", "the access token's signature does not verify");
    }
    JWTClaimsSet claims;
    String channel;
    List<String> roleClaims;
    try {
      claims = signed.getJWTClaimsSet();
      channel = claims.getStringClaim("channel");
      roleClaims = claims.getStringListClaim("roles");
    } catch (ParseException e) {
      return refused("token_invalid", "the access token's claims are malformed");
    }
    long skew = cfg.clockSkewSeconds() * 1000L;
    Date exp = claims.getExpirationTime();
    if (exp == null) {
      return refused("token_invalid", "the access token has no expiry (exp)");
    }
    if (nowMillis > exp.getTime() + skew) {
      return refused("token_expired", "the access token has expired");
    }
    Date nbf = claims.getNotBeforeTime();
    if (nbf != null && nowMillis + skew < nbf.getTime()) {
      return refused("token_not_yet_valid", "the access token is not valid yet (nbf)");
    }
    if (channel == null || !channel.equals(channelId)) {
      return refused("token_wrong_channel", "the access token is not for channel " + channelId);
    }
    Set<String> roles = new LinkedHashSet<>(roleClaims == null ? List.of() : roleClaims);
    if (role.sends() && !roles.contains(PUBLISH)) {
      return refused("token_role", "the access token does not allow publishing (role " + role.wire()
          + " needs '" + PUBLISH + "')");
    }
    if (role.receives() && !roles.contains(SUBSCRIBE)) {
      return refused("token_role", "the access token does not allow subscribing (role " + role.wire()
          + " needs '" + SUBSCRIBE + "')");
    }
    return new Verdict.Allowed(claims.getSubject(), roles, exp.getTime() + skew);
  }

  private static Verdict refused(String code, String reason) {
    return new Verdict.Refused(code, reason);
  }

  private static String clip(String s) {
    String t = s.length() > 16 ? s.substring(0, 16) : s;
    return t.replaceAll("[^A-Za-z0-9_-]", "?");
  }
}
