package dev.veil.e2ee.identity;

import java.util.HashMap;
import java.util.Map;

/**
 * A strict RFC 8259 reader for one JSON object, enough for a {@link Bundle}: top-level members whose values are
 * strings become {@code String}, integers become {@code Long}; any other value (nested objects, arrays, fractions,
 * booleans, null) is syntax-checked and kept as {@link #OTHER}. Duplicate member names are rejected.
 */
final class FlatJson {
    static final Object OTHER = new Object();
    private static final int MAX_DEPTH = 16;
    private static final int MAX_LENGTH = 16_384;

    private final String s;
    private int pos;

    private FlatJson(String s) {
        this.s = s;
    }

    static Map<String, Object> parseObject(String json) throws BundleFormatException {
        if (json == null || json.length() > MAX_LENGTH) {
            throw new BundleFormatException("bundle JSON missing or too long");
        }
        FlatJson p = new FlatJson(json);
        p.ws();
        Map<String, Object> out = p.object(0, true);
        p.ws();
        if (p.pos != json.length()) {
            throw new BundleFormatException("trailing characters after the bundle object");
        }
        return out;
    }

    private Map<String, Object> object(int depth, boolean keep) throws BundleFormatException {
        if (depth > MAX_DEPTH) {
            throw err("nesting too deep");
        }
        expect('{');
        Map<String, Object> out = keep ? new HashMap<>() : null;
        ws();
        if (peek() == '}') {
            pos++;
            return out;
        }
        while (true) {
            ws();
            String name = string();
            ws();
            expect(':');
            ws();
            Object v = value(depth + 1);
            if (keep && out.put(name, v) != null) {
                throw err("duplicate member " + name);
            }
            ws();
            char c = next();
            if (c == '}') {
                return out;
            }
            if (c != ',') {
                throw err("expected , or }");
            }
        }
    }

    private Object value(int depth) throws BundleFormatException {
        char c = peek();
        if (c == '"') {
            return string();
        }
        if (c == '{') {
            object(depth, false);
            return OTHER;
        }
        if (c == '[') {
            if (depth > MAX_DEPTH) {
                throw err("nesting too deep");
            }
            pos++;
            ws();
            if (peek() == ']') {
                pos++;
                return OTHER;
            }
            while (true) {
                ws();
                value(depth + 1);
                ws();
                char d = next();
                if (d == ']') {
                    return OTHER;
                }
                if (d != ',') {
                    throw err("expected , or ]");
                }
            }
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            return number();
        }
        for (String lit : new String[] {"true", "false", "null"}) {
            if (s.startsWith(lit, pos)) {
                pos += lit.length();
                return OTHER;
            }
        }
        throw err("unexpected character");
    }

    private Object number() throws BundleFormatException {
        int start = pos;
        if (peek() == '-') {
            pos++;
        }
        if (peek() == '0') {
            pos++;
        } else if (peek() >= '1' && peek() <= '9') {
            while (pos < s.length() && Character.isDigit(s.charAt(pos)) && s.charAt(pos) < 128) {
                pos++;
            }
        } else {
            throw err("bad number");
        }
        boolean integer = true;
        if (pos < s.length() && s.charAt(pos) == '.') {
            integer = false;
            pos++;
            digits();
        }
        if (pos < s.length() && (s.charAt(pos) == 'e' || s.charAt(pos) == 'E')) {
            integer = false;
            pos++;
            if (pos < s.length() && (s.charAt(pos) == '+' || s.charAt(pos) == '-')) {
                pos++;
            }
            digits();
        }
        if (!integer) {
            return OTHER;
        }
        String t = s.substring(start, pos);
        if (t.length() > 18) {
            return OTHER;
        }
        return Long.parseLong(t);
    }

    private void digits() throws BundleFormatException {
        int start = pos;
        while (pos < s.length() && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') {
            pos++;
        }
        if (pos == start) {
            throw err("bad number");
        }
    }

    private String string() throws BundleFormatException {
        expect('"');
        StringBuilder b = new StringBuilder();
        while (true) {
            char c = next();
            if (c == '"') {
                return b.toString();
            }
            if (c < 0x20) {
                throw err("control character in string");
            }
            if (c != '\\') {
                b.append(c);
                continue;
            }
            char e = next();
            switch (e) {
                case '"', '\\', '/' -> b.append(e);
                case 'b' -> b.append('\b');
                case 'f' -> b.append('\f');
                case 'n' -> b.append('\n');
                case 'r' -> b.append('\r');
                case 't' -> b.append('\t');
                case 'u' -> {
                    if (pos + 4 > s.length()) {
                        throw err("bad \\u escape");
                    }
                    int cp = 0;
                    for (int i = 0; i < 4; i++) {
                        int d = Character.digit(s.charAt(pos++), 16);
                        if (d < 0) {
                            throw err("bad \\u escape");
                        }
                        cp = cp << 4 | d;
                    }
                    b.append((char) cp);
                }
                default -> throw err("bad escape");
            }
        }
    }

    private void ws() {
        while (pos < s.length()) {
            char c = s.charAt(pos);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                return;
            }
            pos++;
        }
    }

    private char peek() throws BundleFormatException {
        if (pos >= s.length()) {
            throw err("unexpected end");
        }
        return s.charAt(pos);
    }

    private char next() throws BundleFormatException {
        char c = peek();
        pos++;
        return c;
    }

    private void expect(char c) throws BundleFormatException {
        if (next() != c) {
            throw err("expected " + c);
        }
    }

    private BundleFormatException err(String what) {
        return new BundleFormatException("malformed bundle JSON at " + pos + ": " + what);
    }
}
