package dev.veil.webrtc.srtp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The KDF derives every label from one AES block cipher keyed once (session creation had cost six cipher look-ups
 * and key schedules per direction, which held the SRTP fuzz target to ~4,000 inputs per second): the result must
 * be the AES-CM keystream of RFC 3711 §4.3 exactly, for every label, salt size and length (the RFC vectors are in
 * {@code SrtpRfcVectorsTest}).
 */
class SrtpKdfTest {
    @Test
    void derive_isTheCounterModeKeystreamOfTheLabelBlock() throws Exception {
        SplittableRandom random = new SplittableRandom(3711);
        for (int keyLen : new int[] {16, 32}) {
            for (int saltLen : new int[] {12, 14}) {
                byte[] key = new byte[keyLen];
                byte[] salt = new byte[saltLen];
                random.nextBytes(key);
                random.nextBytes(salt);
                SrtpKdf kdf = SrtpKdf.of(key, salt);
                for (int label = 0; label <= 5; label++) {
                    byte[] iv = new byte[16];
                    System.arraycopy(salt, 0, iv, 0, saltLen);
                    iv[7] ^= (byte) label;
                    for (int len : new int[] {1, 12, 14, 16, 20, 32, 33, 94}) {
                        byte[] expected = SrtpKdf.keystream(key, iv, len);
                        assertArrayEquals(expected, kdf.derive(label, len), "label " + label + " length " + len);
                        assertArrayEquals(expected, SrtpKdf.derive(key, salt, label, len));
                    }
                }
            }
        }
    }
}
