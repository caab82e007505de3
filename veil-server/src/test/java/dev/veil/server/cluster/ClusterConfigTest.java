package dev.veil.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

/** The {@code cluster} block: off by default, validated when on, the Redis URL never printed. */
class ClusterConfigTest {
  private static ClusterConfig parse(String hocon) {
    return ClusterConfig.from(ConfigFactory.parseString(hocon)
        .withFallback(ConfigFactory.parseResources(ClusterConfig.class.getClassLoader(), "reference.conf")).resolve());
  }

  @Test
  void offByDefault() {
    assertFalse(ClusterConfig.load(null).enabled());
    assertFalse(parse("").enabled());
  }

  @Test
  void onWithARedisUrl_randomNodeIdAndDerivedUrlWhenNotGiven() {
    ClusterConfig c = parse("cluster { redis_url = \"redis://:pw@127.0.0.1:6379\" }");
    assertTrue(c.enabled());
    assertTrue(c.nodeId().matches("node-[0-9a-f]{12}"), c.nodeId());
    assertEquals("", c.publicSignalingUrl());
    assertEquals(1000, c.heartbeatMillis());
    assertEquals(3000, c.nodeTtlMillis());
    assertFalse(c.toString().contains("pw"), "the Redis URL (and its password) is never printed: " + c);
    ClusterConfig n = parse("cluster { redis_url = \"redis://h:1\", node_id = \"n1\", "
        + "public_signaling_url = \"wss://n1.example/signaling\" }");
    assertEquals("n1", n.nodeId());
    assertEquals("wss://n1.example/signaling", n.publicSignalingUrl());
  }

  @Test
  void badValuesAreRefusedWithTheKeyNamed() {
    String[][] bad = {
        {"redis_url = \"http://h:1\"", "cluster.redis_url"},
        {"redis_url = \"redis://h:1\", public_signaling_url = \"http://x/signaling\"", "public_signaling_url"},
        {"redis_url = \"redis://h:1\", node_id = \"a b\"", "cluster.node_id"},
        {"redis_url = \"redis://h:1\", heartbeat_millis = 1000, node_ttl_millis = 1500", "node_ttl_millis"},
        {"redis_url = \"redis://h:1\", redis_timeout_millis = 5000", "redis_timeout_millis"},
    };
    for (String[] b : bad) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse("cluster { " + b[0] + " }"));
      assertTrue(e.getMessage().contains(b[1]), b[0] + " -> " + e.getMessage());
    }
  }

  @Test
  void relaySecret_offByDefault_base64OfAtLeast32Bytes_neverPrinted() {
    assertFalse(parse("cluster { redis_url = \"redis://h:1\" }").cascade());
    byte[] key = new byte[32];
    for (int i = 0; i < key.length; i++) {
      key[i] = (byte) (i * 7 + 1);
    }
    String b64 = java.util.Base64.getEncoder().encodeToString(key);
    ClusterConfig c = parse("cluster { redis_url = \"redis://h:1\", relay_secret = \"" + b64 + "\" }");
    assertTrue(c.cascade());
    org.junit.jupiter.api.Assertions.assertArrayEquals(key, c.relaySecret());
    assertFalse(c.toString().contains(b64), c.toString());
    assertTrue(c.toString().contains("relay secret set"), c.toString());
    c.relaySecret()[0] ^= 1; // the accessor hands out a copy
    org.junit.jupiter.api.Assertions.assertArrayEquals(key, c.relaySecret());
    assertEquals(c, c.forNode("other", "ws://127.0.0.1:1/signaling").forNode(c.nodeId(), c.publicSignalingUrl()));
    String shortKey = java.util.Base64.getEncoder().encodeToString(new byte[16]);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> parse("cluster { redis_url = \"redis://h:1\", relay_secret = \"" + shortKey + "\" }"));
    assertTrue(e.getMessage().contains("relay_secret"), e.getMessage());
    assertFalse(e.getMessage().contains(shortKey), e.getMessage());
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
        () -> parse("cluster { redis_url = \"redis://h:1\", relay_secret = \"not base64 !!\" }"));
    assertFalse(bad.getMessage().contains("not base64 !!"), bad.getMessage());
  }
}
