package dev.veil.server.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Development helper: prints an HS256 access token. {@code java -cp veil-server.jar
 * dev.veil.server.auth.MintToken --secret-file F --channel C --roles publish,subscribe --ttl 3600}.
 */
@Command(name = "MintToken", mixinStandardHelpOptions = true,
    description = "Prints an HS256 access token for a veil-server with auth.mode = \"token\" (development only).")
public final class MintToken implements Callable<Integer> {

  @Option(names = "--secret-file", required = true, description = "file holding the server's HS256 secret")
  Path secretFile;

  @Option(names = "--channel", required = true, description = "the channel the token admits to")
  String channel;

  @Option(names = "--roles", split = ",", defaultValue = "publish,subscribe",
      description = "publish and/or subscribe (default: ${DEFAULT-VALUE})")
  List<String> roles;

  @Option(names = "--ttl", defaultValue = "3600", description = "seconds until the token expires")
  long ttlSeconds;

  @Option(names = "--sub", description = "subject (who the token is for)")
  String subject;

  /** An HS256 token: {@code channel}, {@code roles}, {@code exp = now + ttl}, {@code iat}, optional {@code sub}. */
  public static String mint(byte[] secret, String channel, List<String> roles, String subject, long nowMillis,
      long ttlSeconds) throws JOSEException {
    JWTClaimsSet.Builder b = new JWTClaimsSet.Builder()
        .claim("channel", channel)
        .claim("roles", List.copyOf(roles))
        .issueTime(new Date(nowMillis / 1000 * 1000))
        .expirationTime(new Date((nowMillis / 1000 + ttlSeconds) * 1000));
    if (subject != null) {
      b.subject(subject);
    }
    SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), b.build());
    jwt.sign(new MACSigner(secret));
    return jwt.serialize();
  }

  @Override
  public Integer call() throws Exception {
    for (String r : roles) {
      if (!r.equals(TokenVerifier.PUBLISH) && !r.equals(TokenVerifier.SUBSCRIBE)) {
        System.err.println("unknown role '" + r + "': use publish and/or subscribe");
        return 2;
      }
    }
    byte[] secret = AuthConfig.readSecret(secretFile);
    try {
      System.out.println(mint(secret, channel, roles, subject, System.currentTimeMillis(), ttlSeconds));
    } finally {
      Arrays.fill(secret, (byte) 0);
    }
    return 0;
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new MintToken()).execute(args));
  }
}
