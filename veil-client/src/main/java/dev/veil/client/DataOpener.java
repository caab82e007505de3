package dev.veil.client;

import java.util.function.Consumer;

/**
 * What opens received data messages (docs/PROTOCOL.md §1.7): {@link DataCrypto} with sender keys, {@link MlsData} per
 * MLS epoch. A message that does not open is dropped, never accepted in clear.
 */
interface DataOpener {
    /** The detail of the error event for a dropped data message. */
    String DROPPED = "data message dropped: it did not decrypt";

    /** The opened message, or the name of the rejection (NO_KEY, AUTHENTICATION_FAILED, REPLAYED, MALFORMED...). */
    Object open(String from, String to, byte[] payload, long now);

    /** The opened message, or null once {@code dropped} has been told the rejection's name (reported as an error). */
    default DataCrypto.Opened openOrDrop(String from, String to, byte[] payload, long now, Consumer<String> dropped) {
        Object r = open(from, to, payload, now);
        if (r instanceof DataCrypto.Opened o) {
            return o;
        }
        dropped.accept((String) r);
        return null;
    }
}
