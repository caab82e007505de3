package dev.veil.hostile;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The little SDP text handling the hostile server needs to read and extend the real server's offers. */
final class SdpText {
  private SdpText() {
  }

  /** The session part, then each m-section (each with its line ends; CRLF as offers and answers use). */
  static List<String> sections(String sdp) {
    String crlf = sdp.replace("\r\n", "\n").replace("\n", "\r\n");
    List<String> out = new ArrayList<>();
    int start = 0;
    for (int i = crlf.indexOf("\r\nm="); i >= 0; i = crlf.indexOf("\r\nm=", i + 2)) {
      out.add(crlf.substring(start, i + 2));
      start = i + 2;
    }
    out.add(crlf.substring(start));
    return out;
  }

  /** The value of the first {@code a=name:} line of a section. */
  static String attribute(String section, String name) {
    Matcher m = Pattern.compile("\r\na=" + name + ":([^\r]*)\r\n").matcher(section);
    if (!m.find()) {
      throw new IllegalArgumentException("no a=" + name + " in the m-line");
    }
    return m.group(1);
  }

  /** The sendonly m-section of {@code kind} labelled {@code streamId} (a=msid), or null. */
  static String sendingSection(String sdp, String streamId, String kind) {
    String found = null;
    List<String> s = sections(sdp == null ? "" : sdp);
    for (int i = 1; i < s.size(); i++) {
      String x = s.get(i);
      if (x.startsWith("m=" + kind + " ") && x.contains("\r\na=sendonly\r\n")
          && x.contains("\r\na=msid:" + streamId + " ")) {
        found = x;
      }
    }
    return found;
  }

  /** The SSRC of the sendonly m-section of {@code kind} labelled {@code streamId}. */
  static long sendingSsrc(String sdp, String streamId, String kind) {
    String s = sendingSection(sdp, streamId, kind);
    if (s == null) {
      throw new IllegalArgumentException("no " + kind + " m-line of " + streamId);
    }
    return Long.parseLong(attribute(s, "ssrc").split(" ")[0]);
  }
}
