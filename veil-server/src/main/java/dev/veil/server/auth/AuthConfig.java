package dev.veil.server.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;

/**
 * How connects are authorized (docs/PROTOCOL.md §1.6 {@code auth.*}, §1.7). The secret never appears in
 * {@link #toString()}, logs or exceptions.
 *
 * @param tokenRequired {@code auth.mode = "token"}: every connect must carry a valid access token; {@code false}
 *     ({@code "open"}, the default of the embedded demo): anyone may join any channel and a token is ignored
 * @param hs256Secret the shared HS256 secret (at least 32 bytes), or {@code null} when HS256 is not accepted
 * @param es256Key the P-256 public key of ES256 tokens, or {@code null} when ES256 is not accepted
 * @param clockSkewSeconds leeway for {@code exp} and {@code nbf}
 * @param webhookUrl the auth webhook ({@link AuthWebhook}) asked about every connect that passed the token check, or
 *     {@code null} for none
 * @param webhookTimeoutMillis how long the webhook may take; no answer in time denies
 */
public record AuthConfig(boolean tokenRequired, byte[] hs256Secret, ECPublicKey es256Key, int clockSkewSeconds,
    String webhookUrl, int webhookTimeoutMillis) {

  /** Without a webhook. */
  public AuthConfig(boolean tokenRequired, byte[] hs256Secret, ECPublicKey es256Key, int clockSkewSeconds) {
    this(tokenRequired, hs256Secret, es256Key, clockSkewSeconds, null, 3000);
  }

  /** The shortest HS256 secret accepted, in bytes (RFC 7518 §3.2: a key of at least the hash size). */
  public static final int MIN_SECRET_BYTES = 32;
  /** The largest secret or key file read. */
  static final int MAX_FILE_BYTES = 16 * 1024;

  public AuthConfig {
    if (hs256Secret != null && hs256Secret.length < MIN_SECRET_BYTES) {
      throw new IllegalArgumentException("the HS256 secret must be at least " + MIN_SECRET_BYTES + " bytes");
    }
    if (tokenRequired && hs256Secret == null && es256Key == null) {
      throw new IllegalArgumentException("auth.mode = \"token\" needs auth.hs256_secret_file or "
          + "auth.es256_public_key_file");
    }
    if (clockSkewSeconds < 0 || clockSkewSeconds > 600) {
      throw new IllegalArgumentException("auth.clock_skew_seconds must be 0..600");
    }
    if (webhookUrl != null && !webhookUrl.startsWith("http://") && !webhookUrl.startsWith("https://")) {
      throw new IllegalArgumentException("auth.webhook_url must be an http:// or https:// URL");
    }
    if (webhookTimeoutMillis < 100 || webhookTimeoutMillis > 60_000) {
      throw new IllegalArgumentException("auth.webhook_timeout_millis must be 100..60000");
    }
    hs256Secret = hs256Secret == null ? null : hs256Secret.clone();
  }

  /** This configuration with the auth webhook at {@code url} (or none). */
  public AuthConfig withWebhook(String url, int timeoutMillis) {
    return new AuthConfig(tokenRequired, hs256Secret, es256Key, clockSkewSeconds, url, timeoutMillis);
  }

  /** Open: no token needed (the embedded default). */
  public static AuthConfig open() {
    return new AuthConfig(false, null, null, 30);
  }

  @Override
  public byte[] hs256Secret() {
    return hs256Secret == null ? null : hs256Secret.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AuthConfig a && a.tokenRequired == tokenRequired && Arrays.equals(a.hs256Secret, hs256Secret)
        && java.util.Objects.equals(a.es256Key, es256Key) && a.clockSkewSeconds == clockSkewSeconds
        && java.util.Objects.equals(a.webhookUrl, webhookUrl) && a.webhookTimeoutMillis == webhookTimeoutMillis;
  }

  @Override
  public int hashCode() {
    return Boolean.hashCode(tokenRequired) * 31 + clockSkewSeconds;
  }

  @Override
  public String toString() {
    return "AuthConfig[tokenRequired=" + tokenRequired + ", hs256=" + (hs256Secret != null) + ", es256="
        + (es256Key != null) + ", clockSkewSeconds=" + clockSkewSeconds + ", webhook=" + (webhookUrl != null) + "]";
  }

  /**
   * The secret in {@code file}: its bytes, without a trailing line break. The file names nothing of its content in
   * an error.
   */
  public static byte[] readSecret(Path file) throws IOException {
    byte[] b = readBounded(file);
    int n = b.length;
    while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r')) {
      n--;
    }
    byte[] out = Arrays.copyOf(b, n);
    Arrays.fill(b, (byte) 0);
    if (out.length < MIN_SECRET_BYTES) {
      throw new IOException("the secret in " + file + " is shorter than " + MIN_SECRET_BYTES + " bytes");
    }
    return out;
  }

  /** A P-256 public key from a PEM file ({@code -----BEGIN PUBLIC KEY-----}, SubjectPublicKeyInfo). */
  public static ECPublicKey readEcPublicKey(Path file) throws IOException {
    String pem = new String(readBounded(file), StandardCharsets.US_ASCII);
    String b64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    try {
      PublicKey k = KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(Base64.getDecoder()
          .decode(b64)));
      if (!(k instanceof ECPublicKey ec) || ec.getParams().getCurve().getField().getFieldSize() != 256) {
        throw new IOException(file + " does not hold a P-256 public key");
      }
      return ec;
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IOException(file + " does not hold a PEM public key (SubjectPublicKeyInfo)");
    }
  }

  private static byte[] readBounded(Path file) throws IOException {
    if (Files.size(file) > MAX_FILE_BYTES) {
      throw new IOException(file + " is larger than " + MAX_FILE_BYTES + " bytes");
    }
    return Files.readAllBytes(file);
  }
}
