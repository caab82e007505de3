package dev.veil.webrtc.sdp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link SdpText} replaced the regex splits of the SDP parser (they were most of its cost, and made the SDP fuzz
 * targets run at under 1,000 inputs per second under Jazzer's regex hooks): it must split exactly as they did.
 */
class SdpTextTest {
    private static final List<String> CASES = List.of("", "\n", "\r\n", "\n\n", "v=0", "v=0\n", "v=0\r\n",
            "\nv=0", "\r\nv=0", "v=0\r\r\n", "\r", "a\rb\nc", "a\r\n\r\nb\r\n\r\n", " a  b\t\tc ", "\u000Ba\u000Bb\f",
            "a\u0001 b", "\u0001a", "a\u00A0b", "  ", "a b c d", "x\n\ny\n \n", "\r\r\r\n", "a= b:c\r\n");

    @Test
    void lines_sameAsRegexSplit() {
        for (String s : CASES) {
            assertArrayEquals(s.split("\r?\n"), SdpText.lines(s), s);
        }
    }

    @Test
    void fields_sameAsTrimAndRegexSplit() {
        for (String s : CASES) {
            assertArrayEquals(s.trim().split("\\s+"), SdpText.fields(s), s);
            for (int limit = 1; limit <= 3; limit++) {
                assertArrayEquals(s.trim().split("\\s+", limit), SdpText.fields(s, limit), s + " limit " + limit);
            }
        }
    }

    @Test
    void randomText_sameAsRegexSplit() {
        String alphabet = "ab \t\r\n\u000B\f\u0001\u00A0=:";
        SplittableRandom random = new SplittableRandom(0x5dd7e47L);
        for (int n = 0; n < 20_000; n++) {
            StringBuilder sb = new StringBuilder();
            int len = random.nextInt(24);
            for (int i = 0; i < len; i++) {
                sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
            }
            String s = sb.toString();
            assertArrayEquals(s.split("\r?\n"), SdpText.lines(s), s);
            assertArrayEquals(s.trim().split("\\s+"), SdpText.fields(s), s);
            assertArrayEquals(s.trim().split("\\s+", 2), SdpText.fields(s, 2), s);
        }
    }
}
