package dev.veil.e2ee.sframe;

import static dev.veil.e2ee.codec.FrameVectorFiles.hex;
import static dev.veil.e2ee.codec.FrameVectorFiles.unhex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.e2ee.codec.Av1ClearRanges;
import dev.veil.e2ee.codec.FrameCryptoException;
import dev.veil.e2ee.codec.FrameVectorFiles;
import dev.veil.e2ee.codec.H264ClearRanges;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The per-codec clear-range cases of test-vectors (written by veil-js's test-support/e2ee/gen-codec-vectors.mjs, read
 * by veil-js's codec tests too), one body for every codec with clear ranges: each case's layout and clear ranges, or
 * its refusal; for AV1 also the restored frame and the receiver's form. The frames (encryption, decryption,
 * tampering) are in {@link Av1ClearRangesTest} and {@link H264ClearRangesTest}.
 */
class ClearRangeCasesTest {

    /** A codec's layout as the cases give it. */
    private record Layout(byte[] frame, List<int[]> ranges) {}

    private interface Rule {
        Layout layout(byte[] frame) throws FrameCryptoException;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"av1", "h264"})
    void vectorCases_layoutAndRanges(String codec) throws Exception {
        JsonNode cases;
        Rule rule;
        int atLeast;
        if (codec.equals("av1")) {
            cases = FrameVectorFiles.read("codec-clear-ranges.json").get("av1").get("cases");
            rule = f -> {
                Av1ClearRanges.Layout l = Av1ClearRanges.layout(f, 0, f.length);
                return new Layout(l.frame(), l.ranges());
            };
            atLeast = 10;
        } else {
            cases = FrameVectorFiles.read("codec-h264.json").get("cases");
            rule = f -> {
                H264ClearRanges.Layout l = H264ClearRanges.layout(f, 0, f.length);
                return new Layout(l.frame(), l.ranges());
            };
            atLeast = 8;
        }
        assertTrue(cases.size() >= atLeast);
        for (JsonNode c : cases) {
            String name = c.get("name").asText();
            byte[] frame = unhex(c.get("frame"));
            if (c.has("error")) {
                assertThrows(FrameCryptoException.class, () -> rule.layout(frame), name);
                continue;
            }
            Layout l = rule.layout(frame);
            assertEquals(c.get("layout").asText(), hex(l.frame()), name);
            List<List<Integer>> expected = new ArrayList<>();
            c.get("clear_ranges").forEach(r -> expected.add(List.of(r.get(0).asInt(), r.get(1).asInt())));
            List<List<Integer>> got = new ArrayList<>();
            l.ranges().forEach(r -> got.add(List.of(r[0], r[1])));
            assertEquals(expected, got, name);
            if (codec.equals("av1")) {
                assertEquals(c.get("restored").asText(), hex(Av1ClearRanges.restore(l.frame(), 0, l.frame().length)),
                        name);
                byte[] restored = unhex(c.get("restored"));
                assertEquals(c.get("layout").asText(), hex(Av1ClearRanges.received(restored, 0, restored.length)),
                        name);
            }
        }
    }
}
