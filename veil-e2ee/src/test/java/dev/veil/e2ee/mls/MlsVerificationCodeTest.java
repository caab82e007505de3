package dev.veil.e2ee.mls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.bouncycastle.util.encoders.Hex;
import org.junit.jupiter.api.Test;

class MlsVerificationCodeTest {
    /** libdave's displayable-code known answer: aabbccddee → 05870. */
    @Test
    void daveKnownAnswer() {
        assertEquals("05870", MlsVerificationCode.display(Hex.decode("aabbccddee"), 5, 5, ""));
    }

    @Test
    void thirtyDigitsInSixGroups() {
        byte[] auth = new byte[32];
        for (int i = 0; i < 32; i++) {
            auth[i] = (byte) (0xaa + 0x11 * (i % 5));
        }
        String code = MlsVerificationCode.of(auth);
        assertEquals("05870 05870 05870 05870 05870 05870", code);
        byte[] other = auth.clone();
        other[29] ^= 1;
        assertNotEquals(code, MlsVerificationCode.of(other));
        assertThrows(IllegalArgumentException.class, () -> MlsVerificationCode.of(new byte[29]));
    }
}
