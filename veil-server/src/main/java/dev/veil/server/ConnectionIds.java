package dev.veil.server;

import java.security.SecureRandom;

/** Connection ids: 128 random bits as 26 characters of Crockford base32 (as Sora's connection ids look). */
final class ConnectionIds {
  private static final char[] ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ".toCharArray();
  private final SecureRandom random;

  ConnectionIds(SecureRandom random) {
    this.random = random;
  }

  String next() {
    byte[] b = new byte[17];
    random.nextBytes(b);
    b[16] = 0; // 128 random bits, then zero padding to 130
    char[] out = new char[26];
    int bit = 0;
    for (int i = 0; i < 26; i++, bit += 5) {
      int byteIdx = bit >>> 3;
      int shift = bit & 7;
      int v = ((b[byteIdx] & 0xff) << 8 | (b[byteIdx + 1] & 0xff)) >>> (11 - shift) & 0x1f;
      out[i] = ALPHABET[v];
    }
    return new String(out);
  }
}
