package dev.veil.e2ee.key;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class KeyRingTest {

    @Test
    void put_full_retiresOldestInstalled() {
        List<String> retired = new ArrayList<>();
        KeyRing<String> ring = new KeyRing<>(2, retired::add);
        ring.put(new KeyId(0, 0), "a");
        ring.put(new KeyId(0, 1), "b");
        ring.put(new KeyId(1, 0), "c");
        assertEquals(List.of("a"), retired);
        assertNull(ring.get(new KeyId(0, 0)));
        assertEquals("b", ring.get(new KeyId(0, 1).toKid()));
        assertEquals("c", ring.get(new KeyId(1, 0)));
    }

    @Test
    void put_sameId_replacesAndRetiresPrevious() {
        List<String> retired = new ArrayList<>();
        KeyRing<String> ring = new KeyRing<>(2, retired::add);
        ring.put(new KeyId(0, 0), "a");
        ring.put(new KeyId(0, 0), "a2");
        assertEquals(List.of("a"), retired);
        assertEquals(1, ring.size());
    }

    @Test
    void remove_retiresEntry() {
        List<String> retired = new ArrayList<>();
        KeyRing<String> ring = new KeyRing<>(4, retired::add);
        ring.put(new KeyId(0, 0), "a");
        ring.put(new KeyId(0, 1), "b");
        assertTrue(ring.remove(new KeyId(0, 0)));
        assertFalse(ring.remove(new KeyId(0, 0)));
        assertEquals(List.of("a"), retired);
        assertEquals("b", ring.get(new KeyId(0, 1)));
    }

    @Test
    void ratchetBase_picksHighestLowerStepWithinBound() {
        KeyRing<String> ring = new KeyRing<>(4, s -> { });
        ring.put(new KeyId(3, 1), "a");
        ring.put(new KeyId(3, 4), "b");
        ring.put(new KeyId(2, 9), "c");
        assertEquals(new KeyId(3, 4), ring.ratchetBase(new KeyId(3, 10), 16));
        assertEquals(new KeyId(3, 1), ring.ratchetBase(new KeyId(3, 3), 16));
        assertNull(ring.ratchetBase(new KeyId(3, 30), 16), "26 steps from (3,4)");
        assertNull(ring.ratchetBase(new KeyId(4, 5), 16), "other generation");
        assertNull(ring.ratchetBase(new KeyId(3, 0), 16), "no lower step");
    }
}
