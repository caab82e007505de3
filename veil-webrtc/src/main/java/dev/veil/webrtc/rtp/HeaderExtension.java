package dev.veil.webrtc.rtp;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * One RFC 8285 header extension element: a local identifier (from {@code a=extmap}) and its data.
 *
 * @param id 1..14 (one-byte form) or 1..255 (two-byte form)
 * @param data 0..255 bytes (one-byte form: 1..16)
 */
public record HeaderExtension(int id, byte[] data) {

    public HeaderExtension {
        if (id < 1 || id > 255) {
            throw new IllegalArgumentException("extension id must be 1..255: " + id);
        }
        data = data.clone();
        if (data.length > 255) {
            throw new IllegalArgumentException("extension data longer than 255 bytes");
        }
    }

    /** A copy of the data. */
    @Override
    public byte[] data() {
        return data.clone();
    }

    int length() {
        return data.length;
    }

    byte[] rawData() {
        return data;
    }

    /** Whether this element fits the one-byte header form (id 1..14, 1..16 bytes). */
    public boolean fitsOneByte() {
        return id <= 14 && data.length >= 1 && data.length <= 16;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HeaderExtension e && e.id == id && Arrays.equals(e.data, data);
    }

    @Override
    public int hashCode() {
        return id * 31 + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "HeaderExtension[id=" + id + ", data=" + HexFormat.of().formatHex(data) + "]";
    }
}
