package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** In the MLS key mode a screen-share VP8 frame is refused (reported), never sent in clear. */
class ConnectionE2eeMlsScreenTest {
    @Test
    void mlsModeNeverSendsAScreenFrameInClear() throws Exception {
        ConnectionListeners listeners = new ConnectionListeners();
        List<E2eeEvent> events = new ArrayList<>();
        listeners.add(new Connection.Listener() {
            @Override
            public void onE2ee(E2eeEvent ev) {
                events.add(ev);
            }
        });
        ConnectionE2ee e = new ConnectionE2ee(Options.e2eeMls(), new SecureRandom(), listeners, m -> { });
        e.setUp(null);
        byte[] frame = {0x50, 0x2d, 0x00, (byte) 0x9d, 0x01, 0x2a, 1, 2, 3, 4};
        assertNull(e.sealVp8(frame, true, "me"), "nothing to send");
        assertEquals(1, events.size());
        E2eeEvent.Error err = (E2eeEvent.Error) events.get(0);
        assertEquals("ENCRYPT_FAILED", err.reason());
        // plain connections still send the frame as it is
        ConnectionE2ee plain = new ConnectionE2ee(Options.plain(), new SecureRandom(), listeners, m -> { });
        plain.setUp(null);
        assertNotNull(plain.sealVp8(frame, true, "me"));
    }
}
