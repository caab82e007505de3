package dev.veil.e2ee.mls;

/**
 * The code people compare in MLS mode: derived from the epoch authenticator (RFC 9420 §8.7), so it is one value per
 * epoch, equal for every honest member of that epoch and different for any split view. Display: 30 decimal digits
 * in 6 groups of 5; group i is the big-endian integer of authenticator bytes [5i, 5i + 5) modulo 100000, zero-padded
 * (the displayable-code rule DAVE uses for its epoch authenticator).
 */
public final class MlsVerificationCode {
    public static final int GROUPS = 6;
    public static final int GROUP_DIGITS = 5;

    private MlsVerificationCode() {
    }

    /** The 30-digit code of {@code epochAuthenticator} (at least 30 bytes), groups separated by spaces. */
    public static String of(byte[] epochAuthenticator) {
        return display(epochAuthenticator, GROUPS * GROUP_DIGITS, GROUP_DIGITS, " ");
    }

    /**
     * The displayable code of the first {@code length} bytes of {@code data} in groups of {@code groupSize} bytes,
     * each shown as {@code groupSize} decimal digits (value mod 10^groupSize), joined by {@code separator}.
     */
    public static String display(byte[] data, int length, int groupSize, String separator) {
        if (groupSize < 1 || groupSize > 7 || length % groupSize != 0 || data.length < length) {
            throw new IllegalArgumentException("need " + length + " bytes in groups of 1..7");
        }
        long mod = 1;
        for (int i = 0; i < groupSize; i++) {
            mod *= 10;
        }
        StringBuilder sb = new StringBuilder();
        for (int g = 0; g < length; g += groupSize) {
            long v = 0;
            for (int i = 0; i < groupSize; i++) {
                v = (v << 8) | (data[g + i] & 0xFF);
            }
            if (g > 0) {
                sb.append(separator);
            }
            String digits = Long.toString(Long.remainderUnsigned(v, mod));
            sb.append("0".repeat(groupSize - digits.length())).append(digits);
        }
        return sb.toString();
    }
}
