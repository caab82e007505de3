package dev.veil.webrtc.stun;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.zip.CRC32;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A STUN message (<a href="https://www.rfc-editor.org/rfc/rfc8489#section-5">RFC 8489 §5</a>), decoded from or
 * encoded to bytes. Immutable.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |0 0|     STUN Message Type     |         Message Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         Magic Cookie                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * |                     Transaction ID (96 bits)                  |
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Message Type:  M11 M10 M9 M8 M7 C1 M6 M5 M4 C0 M3 M2 M1 M0
 * </pre>
 *
 * MESSAGE-INTEGRITY (§14.5) is HMAC-SHA1 keyed with the short-term password, computed over the message up to the
 * attribute with the header's length set as if MESSAGE-INTEGRITY were the last attribute. FINGERPRINT (§14.7) is
 * CRC-32 of the message up to the attribute, XOR 0x5354554E, and must be last. Attributes after
 * MESSAGE-INTEGRITY other than FINGERPRINT are ignored, as the RFC requires; unknown attributes are kept as
 * {@link StunAttribute.Unknown}; for a repeated attribute {@link #get} returns the first.
 */
public final class StunMessage {

    /** The magic cookie, 0x2112A442. */
    public static final int MAGIC_COOKIE = 0x2112A442;
    /** The Binding method. */
    public static final int METHOD_BINDING = 0x001;
    /** The STUN header length. */
    public static final int HEADER_LENGTH = 20;
    /** XOR constant of FINGERPRINT. */
    static final int FINGERPRINT_XOR = 0x5354554E;
    private static final int MAX_USERNAME_BYTES = 513;

    private final StunClass messageClass;
    private final int method;
    private final byte[] transactionId;
    private final List<StunAttribute> attributes;
    /** The raw message when decoded (null when built), to check integrity and fingerprint over the exact bytes. */
    private final byte[] raw;
    private final int integrityOffset;
    private final int fingerprintOffset;

    private StunMessage(StunClass c, int method, byte[] txId, List<StunAttribute> attrs, byte[] raw, int mi, int fp) {
        this.messageClass = c;
        this.method = method;
        this.transactionId = txId;
        this.attributes = Collections.unmodifiableList(attrs);
        this.raw = raw;
        this.integrityOffset = mi;
        this.fingerprintOffset = fp;
    }

    /** The message class (request, indication, success or error response). */
    public StunClass messageClass() {
        return messageClass;
    }

    /** The 12-bit method, {@link #METHOD_BINDING} for ICE. */
    public int method() {
        return method;
    }

    /** A copy of the 96-bit transaction id. */
    public byte[] transactionId() {
        return transactionId.clone();
    }

    /** The attributes in wire order (unmodifiable). */
    public List<StunAttribute> attributes() {
        return attributes;
    }

    /** The first attribute of the given record type. */
    public <T extends StunAttribute> Optional<T> get(Class<T> type) {
        for (StunAttribute a : attributes) {
            if (type.isInstance(a)) {
                return Optional.of(type.cast(a));
            }
        }
        return Optional.empty();
    }

    /** Whether an attribute of the given record type is present. */
    public boolean has(Class<? extends StunAttribute> type) {
        return get(type).isPresent();
    }

    /** The USERNAME value, if present. */
    public Optional<String> username() {
        return get(StunAttribute.Username.class).map(StunAttribute.Username::value);
    }

    /** True for a Binding request. */
    public boolean isBindingRequest() {
        return messageClass == StunClass.REQUEST && method == METHOD_BINDING;
    }

    /**
     * Checks MESSAGE-INTEGRITY against {@code key} (for ICE: the UTF-8 bytes of the receiver's ice-pwd), in constant
     * time. False if the message was not decoded from bytes or has no MESSAGE-INTEGRITY.
     */
    public boolean verifyIntegrity(byte[] key) {
        if (raw == null || integrityOffset < 0 || key == null || key.length == 0) {
            return false;
        }
        byte[] expected = hmacSha1(key, raw, integrityOffset, integrityOffset - HEADER_LENGTH + 24);
        byte[] actual = new byte[20];
        System.arraycopy(raw, integrityOffset + 4, actual, 0, 20);
        return MessageDigest.isEqual(expected, actual);
    }

    /** Checks FINGERPRINT. False if the message was not decoded from bytes or has no FINGERPRINT. */
    public boolean verifyFingerprint() {
        if (raw == null || fingerprintOffset < 0) {
            return false;
        }
        int expected = crc32(raw, fingerprintOffset) ^ FINGERPRINT_XOR;
        return expected == readInt(raw, fingerprintOffset + 4);
    }

    /** Whether a FINGERPRINT attribute was present. */
    public boolean hasFingerprint() {
        return fingerprintOffset >= 0;
    }

    /** Whether a MESSAGE-INTEGRITY attribute was present. */
    public boolean hasIntegrity() {
        return integrityOffset >= 0;
    }

    @Override
    public String toString() {
        return "StunMessage[" + messageClass + " method=0x" + Integer.toHexString(method) + " attributes="
                + attributes + "]";
    }

    // ------------------------------------------------------------------------------------------------ decoding

    /**
     * Cheap check that {@code buf[off..off+len)} looks like a STUN message: at least 20 bytes, top two bits zero,
     * the magic cookie, a length that is a multiple of 4 and matches the datagram.
     */
    public static boolean looksLikeStun(byte[] buf, int off, int len) {
        if (buf == null || off < 0 || len < HEADER_LENGTH || off > buf.length - len) {
            return false;
        }
        int msgLen = ((buf[off + 2] & 0xFF) << 8) | (buf[off + 3] & 0xFF);
        return (buf[off] & 0xC0) == 0 && readInt(buf, off + 4) == MAGIC_COOKIE && (msgLen & 3) == 0
                && msgLen + HEADER_LENGTH == len;
    }

    /** Decodes a whole datagram. */
    public static StunMessage decode(byte[] buf) throws StunException {
        return decode(buf, 0, buf == null ? 0 : buf.length);
    }

    /**
     * Decodes {@code buf[off..off+len)}, which must hold exactly one STUN message.
     *
     * @throws StunException if the bytes are not a well-formed STUN message
     */
    public static StunMessage decode(byte[] buf, int off, int len) throws StunException {
        if (buf == null || off < 0 || len < 0 || off > buf.length - len) {
            throw new StunException("bad buffer bounds");
        }
        if (len < HEADER_LENGTH) {
            throw new StunException("shorter than a STUN header: " + len);
        }
        if ((buf[off] & 0xC0) != 0) {
            throw new StunException("top two bits of the message type are not zero");
        }
        if (readInt(buf, off + 4) != MAGIC_COOKIE) {
            throw new StunException("no magic cookie (RFC 3489 messages are not supported)");
        }
        int msgLen = ((buf[off + 2] & 0xFF) << 8) | (buf[off + 3] & 0xFF);
        if ((msgLen & 3) != 0) {
            throw new StunException("message length not a multiple of 4: " + msgLen);
        }
        if (msgLen + HEADER_LENGTH != len) {
            throw new StunException("message length " + msgLen + " does not match datagram length " + len);
        }
        byte[] raw = new byte[len];
        System.arraycopy(buf, off, raw, 0, len);

        int type = ((raw[0] & 0x3F) << 8) | (raw[1] & 0xFF);
        int method = (type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2);
        StunClass cls = StunClass.ofBits(((type >> 7) & 0x2) | ((type >> 4) & 0x1));
        byte[] txId = new byte[12];
        System.arraycopy(raw, 8, txId, 0, 12);

        List<StunAttribute> attrs = new ArrayList<>();
        int mi = -1;
        int fp = -1;
        int pos = HEADER_LENGTH;
        while (pos < len) {
            if (fp >= 0) {
                throw new StunException("attribute after FINGERPRINT");
            }
            if (len - pos < 4) {
                throw new StunException("truncated attribute header");
            }
            int at = ((raw[pos] & 0xFF) << 8) | (raw[pos + 1] & 0xFF);
            int al = ((raw[pos + 2] & 0xFF) << 8) | (raw[pos + 3] & 0xFF);
            int padded = (al + 3) & ~3;
            if (padded > len - pos - 4) {
                throw new StunException("attribute 0x" + Integer.toHexString(at) + " overruns the message");
            }
            int v = pos + 4;
            if (at == StunAttribute.TYPE_FINGERPRINT) {
                if (al != 4) {
                    throw new StunException("FINGERPRINT length " + al);
                }
                fp = pos;
                attrs.add(new StunAttribute.Fingerprint(readInt(raw, v)));
            } else if (mi >= 0) {
                // RFC 8489 §14.5: ignore everything after MESSAGE-INTEGRITY except FINGERPRINT (and -SHA256).
                pos = v + padded;
                continue;
            } else if (at == StunAttribute.TYPE_MESSAGE_INTEGRITY) {
                if (al != 20) {
                    throw new StunException("MESSAGE-INTEGRITY length " + al);
                }
                mi = pos;
                byte[] h = new byte[20];
                System.arraycopy(raw, v, h, 0, 20);
                attrs.add(new StunAttribute.MessageIntegrity(h));
            } else {
                attrs.add(decodeAttribute(at, raw, v, al, txId));
            }
            pos = v + padded;
        }
        return new StunMessage(cls, method, txId, attrs, raw, mi, fp);
    }

    private static StunAttribute decodeAttribute(int type, byte[] b, int v, int len, byte[] txId)
            throws StunException {
        switch (type) {
            case StunAttribute.TYPE_USERNAME:
                if (len > MAX_USERNAME_BYTES) {
                    throw new StunException("USERNAME too long: " + len);
                }
                return new StunAttribute.Username(new String(b, v, len, StandardCharsets.UTF_8));
            case StunAttribute.TYPE_SOFTWARE:
                return new StunAttribute.Software(new String(b, v, len, StandardCharsets.UTF_8));
            case StunAttribute.TYPE_PRIORITY:
                expectLength("PRIORITY", len, 4);
                return new StunAttribute.Priority(readInt(b, v) & 0xFFFF_FFFFL);
            case StunAttribute.TYPE_USE_CANDIDATE:
                expectLength("USE-CANDIDATE", len, 0);
                return new StunAttribute.UseCandidate();
            case StunAttribute.TYPE_ICE_CONTROLLING:
                expectLength("ICE-CONTROLLING", len, 8);
                return new StunAttribute.IceControlling(readLong(b, v));
            case StunAttribute.TYPE_ICE_CONTROLLED:
                expectLength("ICE-CONTROLLED", len, 8);
                return new StunAttribute.IceControlled(readLong(b, v));
            case StunAttribute.TYPE_ERROR_CODE: {
                if (len < 4) {
                    throw new StunException("ERROR-CODE too short");
                }
                int cls = b[v + 2] & 0x07;
                int num = b[v + 3] & 0xFF;
                if (cls < 3 || cls > 6 || num > 99) {
                    throw new StunException("ERROR-CODE out of range");
                }
                return new StunAttribute.ErrorCode(cls * 100 + num,
                        new String(b, v + 4, len - 4, StandardCharsets.UTF_8));
            }
            case StunAttribute.TYPE_XOR_MAPPED_ADDRESS:
                return new StunAttribute.XorMappedAddress(decodeXorAddress(b, v, len, txId));
            default: {
                byte[] value = new byte[len];
                System.arraycopy(b, v, value, 0, len);
                return new StunAttribute.Unknown(type, value);
            }
        }
    }

    private static void expectLength(String name, int len, int expected) throws StunException {
        if (len != expected) {
            throw new StunException(name + " length " + len + ", expected " + expected);
        }
    }

    private static InetSocketAddress decodeXorAddress(byte[] b, int v, int len, byte[] txId) throws StunException {
        if (len < 4) {
            throw new StunException("XOR-MAPPED-ADDRESS too short");
        }
        int family = b[v + 1] & 0xFF;
        int port = (((b[v + 2] & 0xFF) << 8) | (b[v + 3] & 0xFF)) ^ (MAGIC_COOKIE >>> 16);
        byte[] addr;
        if (family == 0x01 && len == 8) {
            addr = new byte[4];
        } else if (family == 0x02 && len == 20) {
            addr = new byte[16];
        } else {
            throw new StunException("XOR-MAPPED-ADDRESS family " + family + " with length " + len);
        }
        byte[] mask = xorMask(txId);
        for (int i = 0; i < addr.length; i++) {
            addr[i] = (byte) (b[v + 4 + i] ^ mask[i]);
        }
        try {
            return new InetSocketAddress(InetAddress.getByAddress(addr), port);
        } catch (UnknownHostException e) {
            throw new StunException("bad address length"); // unreachable: 4 or 16 bytes
        }
    }

    /** Magic cookie followed by the transaction id: the XOR mask of an address. */
    private static byte[] xorMask(byte[] txId) {
        byte[] mask = new byte[16];
        mask[0] = 0x21;
        mask[1] = 0x12;
        mask[2] = (byte) 0xA4;
        mask[3] = 0x42;
        System.arraycopy(txId, 0, mask, 4, 12);
        return mask;
    }

    // ------------------------------------------------------------------------------------------------ encoding

    /** Starts a message of the given class and method with the given 12-byte transaction id. */
    public static Builder builder(StunClass messageClass, int method, byte[] transactionId) {
        return new Builder(messageClass, method, transactionId);
    }

    /**
     * Builds and encodes a STUN message. MESSAGE-INTEGRITY and FINGERPRINT are not added as attributes: {@link
     * #encode(byte[], boolean)} appends them, computed over the final bytes.
     */
    public static final class Builder {
        private final StunClass messageClass;
        private final int method;
        private final byte[] transactionId;
        private final List<StunAttribute> attributes = new ArrayList<>();

        private Builder(StunClass messageClass, int method, byte[] transactionId) {
            this.messageClass = Objects.requireNonNull(messageClass, "messageClass");
            if (method < 0 || method > 0xFFF) {
                throw new IllegalArgumentException("method is 12 bits");
            }
            this.method = method;
            if (transactionId == null || transactionId.length != 12) {
                throw new IllegalArgumentException("transaction id must be 12 bytes");
            }
            this.transactionId = transactionId.clone();
        }

        /** Appends an attribute. MESSAGE-INTEGRITY and FINGERPRINT are rejected: encode() computes them. */
        public Builder add(StunAttribute attribute) {
            Objects.requireNonNull(attribute, "attribute");
            if (attribute instanceof StunAttribute.MessageIntegrity || attribute instanceof StunAttribute.Fingerprint) {
                throw new IllegalArgumentException("MESSAGE-INTEGRITY and FINGERPRINT are computed by encode()");
            }
            attributes.add(attribute);
            return this;
        }

        /**
         * Encodes the message.
         *
         * @param integrityKey the short-term key (UTF-8 of the ice-pwd) for MESSAGE-INTEGRITY, or null for none
         * @param fingerprint whether to append FINGERPRINT
         */
        public byte[] encode(byte[] integrityKey, boolean fingerprint) {
            byte[][] values = new byte[attributes.size()][];
            int total = HEADER_LENGTH;
            for (int i = 0; i < values.length; i++) {
                values[i] = encodeValue(attributes.get(i));
                total += 4 + ((values[i].length + 3) & ~3);
            }
            if (integrityKey != null) {
                total += 24;
            }
            if (fingerprint) {
                total += 8;
            }
            if (total - HEADER_LENGTH > 0xFFFF) {
                throw new IllegalArgumentException("STUN message too long");
            }
            byte[] out = new byte[total];
            int type = ((method & 0xF80) << 2) | ((method & 0x070) << 1) | (method & 0x00F)
                    | ((messageClass.bits() & 0x2) << 7) | ((messageClass.bits() & 0x1) << 4);
            writeShort(out, 0, type);
            writeInt(out, 4, MAGIC_COOKIE);
            System.arraycopy(transactionId, 0, out, 8, 12);
            int pos = HEADER_LENGTH;
            for (int i = 0; i < values.length; i++) {
                writeShort(out, pos, attributes.get(i).type());
                writeShort(out, pos + 2, values[i].length);
                System.arraycopy(values[i], 0, out, pos + 4, values[i].length);
                pos += 4 + ((values[i].length + 3) & ~3);
            }
            if (integrityKey != null) {
                if (integrityKey.length == 0) {
                    throw new IllegalArgumentException("empty integrity key");
                }
                byte[] mac = hmacSha1(integrityKey, out, pos, pos - HEADER_LENGTH + 24);
                writeShort(out, pos, StunAttribute.TYPE_MESSAGE_INTEGRITY);
                writeShort(out, pos + 2, 20);
                System.arraycopy(mac, 0, out, pos + 4, 20);
                pos += 24;
            }
            writeShort(out, 2, total - HEADER_LENGTH);
            if (fingerprint) {
                int crc = crc32(out, pos) ^ FINGERPRINT_XOR;
                writeShort(out, pos, StunAttribute.TYPE_FINGERPRINT);
                writeShort(out, pos + 2, 4);
                writeInt(out, pos + 4, crc);
                pos += 8;
            }
            return out;
        }

        private byte[] encodeValue(StunAttribute a) {
            if (a instanceof StunAttribute.Username u) {
                byte[] v = u.value().getBytes(StandardCharsets.UTF_8);
                if (v.length > MAX_USERNAME_BYTES) {
                    throw new IllegalArgumentException("USERNAME too long");
                }
                return v;
            } else if (a instanceof StunAttribute.Software s) {
                return s.value().getBytes(StandardCharsets.UTF_8);
            } else if (a instanceof StunAttribute.Priority p) {
                byte[] v = new byte[4];
                writeInt(v, 0, (int) p.value());
                return v;
            } else if (a instanceof StunAttribute.UseCandidate) {
                return new byte[0];
            } else if (a instanceof StunAttribute.IceControlling c) {
                return longBytes(c.tieBreaker());
            } else if (a instanceof StunAttribute.IceControlled c) {
                return longBytes(c.tieBreaker());
            } else if (a instanceof StunAttribute.ErrorCode e) {
                byte[] reason = e.reason().getBytes(StandardCharsets.UTF_8);
                byte[] v = new byte[4 + reason.length];
                v[2] = (byte) (e.code() / 100);
                v[3] = (byte) (e.code() % 100);
                System.arraycopy(reason, 0, v, 4, reason.length);
                return v;
            } else if (a instanceof StunAttribute.XorMappedAddress x) {
                byte[] addr = x.address().getAddress().getAddress();
                byte[] v = new byte[4 + addr.length];
                v[1] = (byte) (addr.length == 4 ? 0x01 : 0x02);
                writeShort(v, 2, x.address().getPort() ^ (MAGIC_COOKIE >>> 16));
                byte[] mask = xorMask(transactionId);
                for (int i = 0; i < addr.length; i++) {
                    v[4 + i] = (byte) (addr[i] ^ mask[i]);
                }
                return v;
            } else if (a instanceof StunAttribute.Unknown u) {
                return u.value();
            }
            throw new IllegalArgumentException("cannot encode " + a); // MI/FP are rejected in add()
        }
    }

    // ------------------------------------------------------------------------------------------------ helpers

    /** HMAC-SHA1 of {@code msg[0..end)} with the header length field replaced by {@code lengthField}. */
    private static byte[] hmacSha1(byte[] key, byte[] msg, int end, int lengthField) {
        try {
            Mac mac = Mac.getInstance("HmacSHA1");
            mac.init(new SecretKeySpec(key, "HmacSHA1"));
            mac.update(msg, 0, 2);
            mac.update((byte) (lengthField >>> 8));
            mac.update((byte) lengthField);
            mac.update(msg, 4, end - 4);
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA1 is mandatory in every JDK", e);
        }
    }

    private static int crc32(byte[] b, int end) {
        CRC32 crc = new CRC32();
        crc.update(b, 0, end);
        return (int) crc.getValue();
    }

    static int readInt(byte[] b, int o) {
        return ((b[o] & 0xFF) << 24) | ((b[o + 1] & 0xFF) << 16) | ((b[o + 2] & 0xFF) << 8) | (b[o + 3] & 0xFF);
    }

    private static long readLong(byte[] b, int o) {
        return ((long) readInt(b, o) << 32) | (readInt(b, o + 4) & 0xFFFF_FFFFL);
    }

    private static void writeShort(byte[] b, int o, int v) {
        b[o] = (byte) (v >>> 8);
        b[o + 1] = (byte) v;
    }

    private static void writeInt(byte[] b, int o, int v) {
        b[o] = (byte) (v >>> 24);
        b[o + 1] = (byte) (v >>> 16);
        b[o + 2] = (byte) (v >>> 8);
        b[o + 3] = (byte) v;
    }

    private static byte[] longBytes(long v) {
        byte[] b = new byte[8];
        writeInt(b, 0, (int) (v >>> 32));
        writeInt(b, 4, (int) v);
        return b;
    }
}
