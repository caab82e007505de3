package dev.veil.client;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A data message from another member (docs/PROTOCOL.md §1.7): in an E2EE channel it was decrypted and authenticated
 * as {@code from}'s (a message that does not is dropped and reported as an {@link E2eeEvent.Error} with source
 * "data").
 *
 * @param from the sender's connection id
 * @param to this connection's id for a direct message, null for one sent to everyone
 * @param isText whether it was sent as text ({@link #text()}) or bytes
 */
public record DataMessage(String from, String to, boolean isText, byte[] bytes) {
    public DataMessage {
        Objects.requireNonNull(from, "from");
        bytes = bytes.clone();
    }

    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    /** The message as UTF-8 text. */
    public String text() {
        return new String(bytes, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "DataMessage[from=" + from + ", to=" + to + ", " + (isText ? "text" : "bytes") + ", " + bytes.length
                + " bytes]";
    }
}
