package dev.veil.signaling;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.veil.signaling.SignalingException.Reason;
import java.util.regex.Pattern;

/**
 * The JSON codec of the signaling protocol: one JSON object per WebSocket text frame, with a string {@code type}
 * and snake_case fields (docs/PROTOCOL.md §1).
 *
 * <pre>
 *   {"type":"connect","role":"sendrecv","channel_id":"room-1","e2ee":true,
 *    "metadata":{...},"signaling_notify_metadata":{...}}
 * </pre>
 *
 * <p>Decoding is strict and fails closed: the text must be at most {@link #MAX_MESSAGE_CHARS} characters of one
 * JSON object without duplicate keys, nested at most {@link #MAX_DEPTH} deep; the type must be known; every
 * required field must be present with the right JSON type and within its size limit; a field the type does not
 * have is refused. Every failure is a {@link SignalingException} with a {@link Reason}. Encoding never fails.
 * Instances are immutable and thread-safe.
 *
 * <p>The per-type work is in package-private helpers: {@link SignalingEncoder} builds each type's JSON object,
 * {@link SignalingDecoder} reads each type, and {@link SignalingFields} holds the typed, bounded field access.
 */
public final class SignalingCodec {

  /** Largest accepted message, in UTF-16 characters. */
  public static final int MAX_MESSAGE_CHARS = 256 * 1024;
  /** Largest SDP, in characters. */
  public static final int MAX_SDP_CHARS = 192 * 1024;
  /** Largest {@code metadata} or {@code signaling_notify_metadata}, as compact JSON, in characters. */
  public static final int MAX_METADATA_CHARS = 16 * 1024;
  /** Largest {@code e2ee} payload in base64 characters (the server's own limit is usually smaller). */
  public static final int MAX_E2EE_PAYLOAD_CHARS = 64 * 1024;
  /** Largest {@code mls} payload or welcome, in base64 characters. */
  public static final int MAX_MLS_PAYLOAD_CHARS = 96 * 1024;
  /** Largest {@code reason}, in characters. */
  public static final int MAX_REASON_CHARS = 1024;
  /** Most entries in a notify's {@code data}. */
  public static final int MAX_DATA_ENTRIES = 10_000;
  /** Deepest JSON nesting accepted. */
  public static final int MAX_DEPTH = 32;

  /** Channel ids: 1 to 255 characters of {@code A-Z a-z 0-9 . _ ~ : @ + -}. */
  public static final Pattern CHANNEL_ID = Pattern.compile("[A-Za-z0-9._~:@+\\-]{1,255}");
  /** Connection ids: 26 characters of Crockford base32 (upper case). */
  public static final Pattern CONNECTION_ID = Pattern.compile("[0-9A-HJKMNP-TV-Z]{26}");

  private final ObjectMapper mapper;

  public SignalingCodec() {
    JsonFactory factory = JsonFactory.builder()
        .streamReadConstraints(StreamReadConstraints.builder()
            .maxNestingDepth(MAX_DEPTH)
            .maxStringLength(MAX_MESSAGE_CHARS)
            .maxNumberLength(20)
            .build())
        .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
        .build();
    this.mapper = new ObjectMapper(factory)
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
  }

  // ------------------------------------------------------------------------------------------------ encoding

  /** The JSON text of {@code m}. */
  public String encode(SignalingMessage m) {
    ObjectNode o = SignalingEncoder.tree(m);
    try {
      return mapper.writeValueAsString(o);
    } catch (JsonProcessingException ex) {
      throw new IllegalStateException("a tree of plain nodes always serialises", ex);
    }
  }

  // ------------------------------------------------------------------------------------------------ decoding

  /** Parses and validates one message. */
  public SignalingMessage decode(String text) throws SignalingException {
    if (text == null) {
      throw new SignalingException(Reason.MALFORMED_JSON, "no message");
    }
    if (text.length() > MAX_MESSAGE_CHARS) {
      throw new SignalingException(Reason.TOO_LARGE,
          "message of " + text.length() + " characters exceeds " + MAX_MESSAGE_CHARS);
    }
    JsonNode root;
    try {
      root = mapper.readTree(text);
    } catch (JsonProcessingException ex) {
      throw new SignalingException(Reason.MALFORMED_JSON, "not valid JSON: " + firstLine(ex.getOriginalMessage()));
    } catch (RuntimeException ex) {
      throw new SignalingException(Reason.MALFORMED_JSON, "not valid JSON");
    }
    if (root == null || !root.isObject()) {
      throw new SignalingException(Reason.MALFORMED_JSON, "a message must be a JSON object");
    }
    SignalingFields f = new SignalingFields((ObjectNode) root, mapper);
    String type = f.optString("type", 64);
    if (type == null) {
      throw new SignalingException(Reason.UNKNOWN_TYPE, "missing field 'type'");
    }
    return SignalingDecoder.decode(type, f);
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return SignalingFields.clip(nl < 0 ? s : s.substring(0, nl));
  }
}
