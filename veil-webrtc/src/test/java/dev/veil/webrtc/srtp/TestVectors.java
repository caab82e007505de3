package dev.veil.webrtc.srtp;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/** Reads the "[section] / key = hex" vector files under src/test/resources. */
final class TestVectors {
    private TestVectors() {
    }

    static Map<String, Map<String, String>> load(String resource) throws IOException {
        Map<String, Map<String, String>> sections = new LinkedHashMap<>();
        try (InputStream in = TestVectors.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("missing test resource " + resource);
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            Map<String, String> current = null;
            String key = null;
            for (String line; (line = r.readLine()) != null;) {
                String t = line.strip();
                if (t.isEmpty() || t.startsWith("#")) {
                    continue;
                }
                if (t.startsWith("[") && t.endsWith("]")) {
                    current = new LinkedHashMap<>();
                    sections.put(t.substring(1, t.length() - 1), current);
                    key = null;
                } else if (t.contains("=")) {
                    int eq = t.indexOf('=');
                    key = t.substring(0, eq).strip();
                    current.put(key, t.substring(eq + 1).replaceAll("\\s", ""));
                } else if (key != null) {
                    current.put(key, current.get(key) + t.replaceAll("\\s", ""));
                }
            }
        }
        return sections;
    }

    static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replaceAll("\\s", ""));
    }
}
