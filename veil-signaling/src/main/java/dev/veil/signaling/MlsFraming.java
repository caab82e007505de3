package dev.veil.signaling;

import java.util.Arrays;

/**
 * The public framing of an MLS message (RFC 9420 §6), all the delivery service may read: wire format, and for
 * handshake messages the group id, epoch, sender and content type. Nothing after those fields is parsed; no key
 * material exists here. The server uses this to order handshake messages without ever holding a group secret.
 *
 * <pre>
 *   struct {
 *       ProtocolVersion version = mls10;     // uint16, 1
 *       WireFormat wire_format;              // uint16: 1 public_message, 2 private_message, 3 welcome,
 *       select (wire_format) { ... }         //         4 group_info, 5 key_package
 *   } MLSMessage;
 *
 *   PublicMessage  starts with FramedContent:
 *       opaque group_id&lt;V&gt;; uint64 epoch; Sender sender; opaque authenticated_data&lt;V&gt;;
 *       ContentType content_type;            // uint8: 1 application, 2 proposal, 3 commit
 *   PrivateMessage starts with:
 *       opaque group_id&lt;V&gt;; uint64 epoch; ContentType content_type; opaque authenticated_data&lt;V&gt;; ...
 *   Sender:
 *       SenderType sender_type;              // uint8: 1 member (uint32 leaf_index follows), 2 external
 *                                            // (uint32 sender_index), 3 new_member_proposal, 4 new_member_commit
 *   KeyPackage starts with: ProtocolVersion version; CipherSuite cipher_suite (uint16); ...
 *   &lt;V&gt;: a variable-size vector, its length a QUIC-style varint (RFC 9000 §16) of 1, 2 or 4 bytes (RFC 9420 §2.1.2)
 * </pre>
 *
 * @param wireFormat 1..5
 * @param groupId the group id (handshake messages only, else null)
 * @param epoch the epoch (handshake messages only, else -1)
 * @param contentType 1 application, 2 proposal, 3 commit (handshake messages only, else 0)
 * @param senderType the sender type of a PublicMessage (else 0)
 * @param cipherSuite the cipher suite of a KeyPackage (else 0)
 */
public record MlsFraming(int wireFormat, byte[] groupId, long epoch, int contentType, int senderType,
    int cipherSuite) {

  public static final int PUBLIC_MESSAGE = 1;
  public static final int PRIVATE_MESSAGE = 2;
  public static final int WELCOME = 3;
  public static final int GROUP_INFO = 4;
  public static final int KEY_PACKAGE = 5;

  public static final int APPLICATION = 1;
  public static final int PROPOSAL = 2;
  public static final int COMMIT = 3;

  /** Largest group id accepted (RFC 9420 sets no limit; Veil's clients use at most 255 bytes). */
  public static final int MAX_GROUP_ID = 255;

  public MlsFraming {
    groupId = groupId == null ? null : groupId.clone();
  }

  @Override
  public byte[] groupId() {
    return groupId == null ? null : groupId.clone();
  }

  /** Whether this is a PublicMessage or PrivateMessage (a handshake or application message of a group). */
  public boolean isGroupMessage() {
    return wireFormat == PUBLIC_MESSAGE || wireFormat == PRIVATE_MESSAGE;
  }

  /** Parses the public framing of {@code b}; throws {@link IllegalArgumentException} with a clear reason. */
  public static MlsFraming parse(byte[] b) {
    Reader r = new Reader(b);
    int version = r.u16();
    if (version != 1) {
      throw new IllegalArgumentException("MLS version " + version + " (only mls10 = 1)");
    }
    int wf = r.u16();
    switch (wf) {
      case PUBLIC_MESSAGE: {
        byte[] gid = r.vector(MAX_GROUP_ID, "group_id");
        long epoch = r.u64();
        int senderType = r.u8();
        if (senderType == 1 || senderType == 2) {
          r.u32();
        } else if (senderType != 3 && senderType != 4) {
          throw new IllegalArgumentException("unknown sender type " + senderType);
        }
        r.skipVector("authenticated_data");
        int ct = contentType(r.u8());
        return new MlsFraming(wf, gid, epoch, ct, senderType, 0);
      }
      case PRIVATE_MESSAGE: {
        byte[] gid = r.vector(MAX_GROUP_ID, "group_id");
        long epoch = r.u64();
        int ct = contentType(r.u8());
        return new MlsFraming(wf, gid, epoch, ct, 0, 0);
      }
      case WELCOME:
      case GROUP_INFO:
        return new MlsFraming(wf, null, -1, 0, 0, 0);
      case KEY_PACKAGE: {
        int kpVersion = r.u16();
        if (kpVersion != 1) {
          throw new IllegalArgumentException("key package version " + kpVersion);
        }
        return new MlsFraming(wf, null, -1, 0, 0, r.u16());
      }
      default:
        throw new IllegalArgumentException("unknown MLS wire format " + wf);
    }
  }

  private static int contentType(int ct) {
    if (ct < APPLICATION || ct > COMMIT) {
      throw new IllegalArgumentException("unknown content type " + ct);
    }
    return ct;
  }

  private static final class Reader {
    private final byte[] b;
    private int p;

    Reader(byte[] b) {
      this.b = b;
    }

    private void need(int n, String what) {
      if (n < 0 || b.length - p < n) {
        throw new IllegalArgumentException("truncated MLS message (" + what + ")");
      }
    }

    int u8() {
      need(1, "uint8");
      return b[p++] & 0xFF;
    }

    int u16() {
      need(2, "uint16");
      int v = (b[p] & 0xFF) << 8 | (b[p + 1] & 0xFF);
      p += 2;
      return v;
    }

    long u32() {
      need(4, "uint32");
      long v = 0;
      for (int i = 0; i < 4; i++) {
        v = v << 8 | (b[p++] & 0xFF);
      }
      return v;
    }

    long u64() {
      need(8, "uint64");
      long v = 0;
      for (int i = 0; i < 8; i++) {
        v = v << 8 | (b[p++] & 0xFF);
      }
      return v;
    }

    int varint(String what) {
      need(1, what + " length");
      int first = b[p] & 0xFF;
      int prefix = first >>> 6;
      if (prefix == 3) {
        throw new IllegalArgumentException("invalid vector length prefix (" + what + ")");
      }
      int len = 1 << prefix;
      need(len, what + " length");
      int v = first & 0x3F;
      for (int i = 1; i < len; i++) {
        v = v << 8 | (b[p + i] & 0xFF);
      }
      p += len;
      return v;
    }

    byte[] vector(int max, String what) {
      int n = varint(what);
      if (n > max) {
        throw new IllegalArgumentException(what + " of " + n + " bytes exceeds " + max);
      }
      need(n, what);
      byte[] out = Arrays.copyOfRange(b, p, p + n);
      p += n;
      return out;
    }

    void skipVector(String what) {
      int n = varint(what);
      need(n, what);
      p += n;
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof MlsFraming f && f.wireFormat == wireFormat && Arrays.equals(f.groupId, groupId)
        && f.epoch == epoch && f.contentType == contentType && f.senderType == senderType
        && f.cipherSuite == cipherSuite;
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(groupId) * 31 + Long.hashCode(epoch) * 7 + wireFormat;
  }

  @Override
  public String toString() {
    return "MlsFraming[wf=" + wireFormat + ", epoch=" + epoch + ", ct=" + contentType + "]";
  }
}
