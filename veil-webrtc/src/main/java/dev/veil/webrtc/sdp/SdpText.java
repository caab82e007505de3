package dev.veil.webrtc.sdp;

import java.util.ArrayList;
import java.util.List;

/**
 * Line and field splitting for SDP without regular expressions. The parser used {@code String.split("\r?\n")} and
 * {@code trim().split("\\s+")}, which build and run a regex per call; on a whole session description that was the
 * bulk of parsing cost (and, under Jazzer's regex hooks, of every fuzz input). These return exactly what those
 * calls returned ({@code SdpTextTest} checks that against {@code String.split}).
 */
final class SdpText {
    private SdpText() {}

    /**
     * {@code text.split("\r?\n")}: the lines of {@code text} split at LF or CRLF, trailing empty lines dropped; the
     * text itself (even empty) when it has no LF.
     */
    static String[] lines(String text) {
        int lf = text.indexOf('\n');
        if (lf < 0) {
            return new String[] {text};
        }
        List<String> out = new ArrayList<>();
        int start = 0;
        while (lf >= 0) {
            int end = lf > start && text.charAt(lf - 1) == '\r' ? lf - 1 : lf;
            out.add(text.substring(start, end));
            start = lf + 1;
            lf = text.indexOf('\n', start);
        }
        out.add(text.substring(start));
        int n = out.size();
        while (n > 0 && out.get(n - 1).isEmpty()) {
            n--;
        }
        return out.subList(0, n).toArray(new String[0]);
    }

    /** {@code value.trim().split("\\s+")}: the whitespace-separated fields; {@code [""]} for a blank value. */
    static String[] fields(String value) {
        return fields(value, 0);
    }

    /**
     * {@code value.trim().split("\\s+", limit)}: with {@code limit > 0} at most {@code limit} fields, the last one
     * holding the rest of the value from its first non-whitespace character.
     */
    static String[] fields(String value, int limit) {
        String s = value.trim();
        List<String> out = new ArrayList<>();
        int i = 0;
        int n = s.length();
        while (true) {
            if (limit > 0 && out.size() == limit - 1) {
                out.add(s.substring(i));
                break;
            }
            int j = i;
            while (j < n && !isSpace(s.charAt(j))) {
                j++;
            }
            out.add(s.substring(i, j));
            if (j == n) {
                break;
            }
            while (j < n && isSpace(s.charAt(j))) {
                j++;
            }
            i = j;
        }
        return out.toArray(new String[0]);
    }

    /** The regex class {@code \s}: space, tab, LF, VT, FF, CR. */
    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\u000B' || c == '\f' || c == '\r';
    }
}
