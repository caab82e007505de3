package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class AdmissionTest {
  @Test
  void pending_perAddressAndTotal_areCountedAndReleased() {
    Admission a = new Admission(3, 2, 10, 10);
    assertNull(a.openPending("x"));
    assertNull(a.openPending("x"));
    assertFalse(a.pendingAllowed("x"));
    assertEquals(Admission.Refusal.PENDING_PER_ADDRESS, a.openPending("x"));
    assertEquals(2, a.pending());
    assertNull(a.openPending("y"));
    assertTrue(a.pendingFull());
    a.releasePending("x");
    assertFalse(a.pendingFull());
    assertTrue(a.pendingAllowed("x"));
    a.releasePending("x");
    a.releasePending("y");
    assertEquals(0, a.pending());
    assertEquals(0, a.addressesTracked()); // no address stays in the maps
  }

  @Test
  void joined_totalAndPerAddress_separateFromPending() {
    Admission a = new Admission(1, 1, 3, 2);
    assertNull(a.openPending("x"));
    assertNull(a.join("x"));
    assertNull(a.join("x"));
    assertEquals(Admission.Refusal.CONNECTIONS_PER_ADDRESS, a.join("x"));
    assertNull(a.join("y"));
    assertEquals(Admission.Refusal.SERVER_FULL, a.join("z"));
    assertEquals(3, a.joined());
    assertEquals(1, a.pending()); // the budgets are apart
    a.releaseJoined("x");
    assertNull(a.join("z"));
  }

  @Test
  void addressKey_ipv4Exact_ipv6By64() throws Exception {
    assertEquals("127.0.0.2", Admission.addressKey(InetAddress.getByName("127.0.0.2")));
    String a = Admission.addressKey(InetAddress.getByName("2001:db8:1:2:aaaa::1"));
    String b = Admission.addressKey(InetAddress.getByName("2001:db8:1:2:bbbb::9"));
    String c = Admission.addressKey(InetAddress.getByName("2001:db8:1:3::1"));
    assertEquals(a, b);
    assertFalse(a.equals(c));
    assertEquals("v6:20010db800010002/64", a);
  }
}
