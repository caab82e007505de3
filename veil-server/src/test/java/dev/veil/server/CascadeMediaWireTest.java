package dev.veil.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.veil.webrtc.rtp.RtpCodec;
import dev.veil.webrtc.sdp.MediaKind;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** What a cascade node accepts from another node's {@code link} and {@code tracks} bus bodies (hostile input). */
class CascadeMediaWireTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static JsonNode json(String s) throws Exception {
    return JSON.readTree(s);
  }

  @Test
  void linkAddressesAreIpLiteralsWithAPort_neverANameToResolve() throws Exception {
    assertEquals(new InetSocketAddress("127.0.0.1", 4242),
        CascadeMediaWire.address(json("{\"host\":\"127.0.0.1\",\"port\":4242}")));
    assertNotNull(CascadeMediaWire.address(json("{\"host\":\"::1\",\"port\":1}")));
    assertNull(CascadeMediaWire.address(json("{\"host\":\"localhost\",\"port\":4242}")), "a name");
    assertNull(CascadeMediaWire.address(json("{\"host\":\"evil.example\",\"port\":4242}")), "a name");
    assertNull(CascadeMediaWire.address(json("{\"host\":\"127.0.0.1\",\"port\":0}")));
    assertNull(CascadeMediaWire.address(json("{\"host\":\"127.0.0.1\",\"port\":65536}")));
    assertNull(CascadeMediaWire.address(json("{\"host\":\"127.0.0.1\"}")));
    assertNull(CascadeMediaWire.address(json("{\"port\":4242}")));
  }

  @Test
  void announcedTracksAreCheckedFieldByField() throws Exception {
    String ok = "{\"id\":\"C1-audio\",\"owner\":\"C1\",\"label\":\"audio\",\"kind\":\"audio\",\"codec\":\"OPUS\","
        + "\"pt\":111,\"clock\":48000,\"ssrc\":4294967295}";
    CascadeMediaWire.Announced a = CascadeMediaWire.announced(json(ok));
    assertNotNull(a);
    assertEquals("C1", a.owner());
    assertEquals(MediaKind.AUDIO, a.track().kind());
    assertEquals(RtpCodec.OPUS, a.track().codec());
    assertEquals(0xFFFF_FFFFL, a.track().ssrc());
    assertNull(CascadeMediaWire.announced(json(ok.replace("\"C1-audio\"", "\"C2-audio\""))),
        "a track id not of its owner (it could shadow another member's track)");
    assertNull(CascadeMediaWire.announced(json(ok.replace("4294967295", "4294967296"))), "SSRC over 32 bits");
    assertNull(CascadeMediaWire.announced(json(ok.replace("111", "128"))), "payload type over 127");
    assertNull(CascadeMediaWire.announced(json(ok.replace("48000", "0"))), "no clock rate");
    assertNull(CascadeMediaWire.announced(json(ok.replace("\"kind\":\"audio\"", "\"kind\":\"data\""))));
    assertNull(CascadeMediaWire.announced(json(ok.replace("\"label\":\"audio\"",
        "\"label\":\"" + "x".repeat(17) + "\""))));
    assertNull(CascadeMediaWire.announced(json("{}")));
  }
}
