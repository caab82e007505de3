package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** {@link DtlsHold} with a manual clock: only ClientHellos, bounded in count and bytes, short expiry. */
class DtlsHoldTest {
  static byte[] clientHello(int len, int tag) {
    byte[] d = new byte[len];
    d[0] = 22; // handshake
    d[1] = (byte) 0xfe; // DTLS 1.x
    d[2] = (byte) 0xfd;
    d[13] = 1; // client_hello
    d[len - 1] = (byte) tag;
    return d;
  }

  static InetSocketAddress addr(int port) {
    return new InetSocketAddress("127.0.0.1", port);
  }

  @Test
  void hold_thenTake_deliversOnceToTheValidatedAddressOnly() {
    DtlsHold h = new DtlsHold(500);
    byte[] hello = clientHello(200, 7);
    assertTrue(h.hold(hello, addr(1000), 0));
    assertNull(h.take(addr(1001), 10), "another address gets nothing");
    assertArrayEquals(hello, h.take(addr(1000), 10));
    assertNull(h.take(addr(1000), 11), "delivered once");
    assertEquals(0, h.bytes());
  }

  @Test
  void hold_notAClientHello_orHoldingOff_refused() {
    DtlsHold h = new DtlsHold(500);
    byte[] finished = clientHello(200, 0);
    finished[13] = 20;
    assertFalse(h.hold(finished, addr(1), 0));
    byte[] appData = clientHello(200, 0);
    appData[0] = 23;
    assertFalse(h.hold(appData, addr(1), 0));
    byte[] epoch1 = clientHello(200, 0);
    epoch1[4] = 1;
    assertFalse(h.hold(epoch1, addr(1), 0));
    assertFalse(h.hold(new byte[10], addr(1), 0));
    assertFalse(new DtlsHold(0).hold(clientHello(200, 0), addr(1), 0));
    assertEquals(0, h.size());
  }

  @Test
  void take_afterHoldMillis_isExpiredAndCounted() {
    DtlsHold h = new DtlsHold(500);
    assertTrue(h.hold(clientHello(300, 1), addr(1), 1000));
    assertNull(h.take(addr(1), 1500));
    assertEquals(1, h.expired());
    assertEquals(0, h.bytes());
  }

  @Test
  void hold_flood_boundedInCountAndBytes_newerReplacesPerAddress() {
    DtlsHold h = new DtlsHold(500);
    for (int i = 0; i < 1000; i++) {
      h.hold(clientHello(1200, i), addr(2000 + i), 0);
      assertTrue(h.size() <= DtlsHold.MAX_HELD && h.bytes() <= DtlsHold.MAX_BYTES, h.size() + " / " + h.bytes());
    }
    assertEquals(DtlsHold.MAX_BYTES / 1200, h.size(), "the byte cap binds first for 1200-byte datagrams");
    DtlsHold small = new DtlsHold(500);
    for (int i = 0; i < 1000; i++) {
      small.hold(clientHello(100, i), addr(3000 + i), 0);
    }
    assertEquals(DtlsHold.MAX_HELD, small.size(), "the count cap binds for small datagrams");
    // the same address twice: one entry, the newer datagram
    DtlsHold one = new DtlsHold(500);
    one.hold(clientHello(100, 1), addr(9), 0);
    one.hold(clientHello(100, 2), addr(9), 5);
    assertEquals(1, one.size());
    assertEquals(2, one.take(addr(9), 6)[99]);
    // once the old ones expire there is room again
    assertTrue(h.hold(clientHello(1200, 5), addr(9999), 600));
    assertEquals(1, h.size());
  }
}
