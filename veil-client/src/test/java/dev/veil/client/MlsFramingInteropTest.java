package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.veil.e2ee.mls.MlsCommit;
import dev.veil.e2ee.mls.MlsGroupSession;
import dev.veil.e2ee.mls.MlsKeyPackage;
import dev.veil.signaling.MlsFraming;
import java.security.SecureRandom;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The server's public-framing codec reads what bcmls (the clients' MLS) writes. */
class MlsFramingInteropTest {
    @Test
    void serverFramingMatchesBcmlsMessages() throws Exception {
        byte[] gid = "room#1".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        MlsKeyPackage a = MlsKeyPackage.create(new byte[] {'a'});
        MlsKeyPackage b = MlsKeyPackage.create(new byte[] {'b'});
        assertEquals(new MlsFraming(MlsFraming.KEY_PACKAGE, null, -1, 0, 0, 1), MlsFraming.parse(b.bytes()));
        MlsGroupSession g = MlsGroupSession.create(gid, a, new SecureRandom());
        MlsCommit c0 = g.commit(List.of(b.bytes()), List.of());
        MlsFraming f = MlsFraming.parse(c0.commit());
        assertEquals(MlsFraming.PUBLIC_MESSAGE, f.wireFormat());
        assertArrayEquals(gid, f.groupId());
        assertEquals(0, f.epoch());
        assertEquals(MlsFraming.COMMIT, f.contentType());
        assertEquals(1, f.senderType());
        assertEquals(MlsFraming.WELCOME, MlsFraming.parse(c0.welcome()).wireFormat());
        g.handle(c0.commit());
        MlsCommit c1 = g.commit(List.of(MlsKeyPackage.create(new byte[] {'c'}).bytes()), List.of(1));
        assertEquals(1, MlsFraming.parse(c1.commit()).epoch());
    }
}
