package dev.veil.webrtc.srtp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The SSRC → stream table of {@link SrtpSession}: a map like {@code HashMap<Integer, V>}, without boxing. */
class SsrcTableTest {

    @Test
    void behavesLikeAHashMap_forRandomSequentialAndExtremeSsrcs_upToTheStreamCap() {
        SsrcTable<Object> t = new SsrcTable<>();
        Map<Integer, Object> ref = new HashMap<>();
        Random r = new Random(17);
        int[] special = {0, -1, 1, Integer.MIN_VALUE, Integer.MAX_VALUE, 0x10000, -0x10000};
        for (int i = 0; i < SrtpSession.MAX_STREAMS; i++) {
            int ssrc = i < special.length ? special[i] : i % 3 == 0 ? 1000 + i : r.nextInt();
            Object v = new Object();
            t.put(ssrc, v);
            ref.put(ssrc, v);
            assertEquals(ref.size(), t.size());
        }
        for (Map.Entry<Integer, Object> e : ref.entrySet()) {
            assertSame(e.getValue(), t.get(e.getKey()));
        }
        for (int i = 0; i < 10_000; i++) {
            int ssrc = r.nextInt();
            assertSame(ref.get(ssrc), t.get(ssrc));
        }
        assertArrayEquals(new TreeSet<>(ref.keySet()).stream().mapToInt(Integer::intValue).toArray(),
                t.keysForTest());
    }

    @Test
    void put_replacesAnExistingEntry_andRefusesNull() {
        SsrcTable<String> t = new SsrcTable<>();
        assertNull(t.get(5));
        t.put(5, "a");
        t.put(5, "b");
        assertEquals(1, t.size());
        assertEquals("b", t.get(5));
        assertThrows(NullPointerException.class, () -> t.put(6, null));
        assertEquals(1, t.size());
    }
}
