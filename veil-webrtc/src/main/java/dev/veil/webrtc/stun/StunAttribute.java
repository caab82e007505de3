package dev.veil.webrtc.stun;

import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * The STUN attributes this stack understands (RFC 8489 §14, RFC 8445 §16.1). Each attribute is a TLV:
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Type                  |            Length             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         Value (variable)                ....
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * The value is padded to a multiple of 4 bytes; Length excludes the padding. MESSAGE-INTEGRITY and FINGERPRINT
 * appear in decoded messages but are never added by hand: {@link StunMessage.Builder#encode} computes them.
 */
public sealed interface StunAttribute {

    /** USERNAME type. */
    int TYPE_USERNAME = 0x0006;
    /** MESSAGE-INTEGRITY type. */
    int TYPE_MESSAGE_INTEGRITY = 0x0008;
    /** ERROR-CODE type. */
    int TYPE_ERROR_CODE = 0x0009;
    /** XOR-MAPPED-ADDRESS type. */
    int TYPE_XOR_MAPPED_ADDRESS = 0x0020;
    /** PRIORITY type (RFC 8445). */
    int TYPE_PRIORITY = 0x0024;
    /** USE-CANDIDATE type (RFC 8445). */
    int TYPE_USE_CANDIDATE = 0x0025;
    /** SOFTWARE type. */
    int TYPE_SOFTWARE = 0x8022;
    /** FINGERPRINT type. */
    int TYPE_FINGERPRINT = 0x8028;
    /** ICE-CONTROLLED type (RFC 8445). */
    int TYPE_ICE_CONTROLLED = 0x8029;
    /** ICE-CONTROLLING type (RFC 8445). */
    int TYPE_ICE_CONTROLLING = 0x802A;

    /** The attribute type code. */
    int type();

    /** USERNAME: for ICE, {@code "<receiver ufrag>:<sender ufrag>"} (RFC 8445 §7.2.2). */
    record Username(String value) implements StunAttribute {
        public Username {
            Objects.requireNonNull(value, "value");
        }

        @Override
        public int type() {
            return TYPE_USERNAME;
        }
    }

    /** MESSAGE-INTEGRITY as read from the wire (20 bytes of HMAC-SHA1). Verify with {@link StunMessage#verifyIntegrity}. */
    record MessageIntegrity(byte[] hmac) implements StunAttribute {
        public MessageIntegrity {
            hmac = hmac.clone();
        }

        @Override
        public byte[] hmac() {
            return hmac.clone();
        }

        @Override
        public int type() {
            return TYPE_MESSAGE_INTEGRITY;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof MessageIntegrity m && Arrays.equals(hmac, m.hmac);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(hmac);
        }

        @Override
        public String toString() {
            return "MessageIntegrity[" + HexFormat.of().formatHex(hmac) + "]";
        }
    }

    /** FINGERPRINT as read from the wire (CRC-32 XOR 0x5354554E). Verify with {@link StunMessage#verifyFingerprint}. */
    record Fingerprint(int value) implements StunAttribute {
        @Override
        public int type() {
            return TYPE_FINGERPRINT;
        }
    }

    /** XOR-MAPPED-ADDRESS: the source transport address the request came from, IPv4 or IPv6. */
    record XorMappedAddress(InetSocketAddress address) implements StunAttribute {
        public XorMappedAddress {
            Objects.requireNonNull(address, "address");
            if (address.isUnresolved()) {
                throw new IllegalArgumentException("address must be a literal IP");
            }
        }

        @Override
        public int type() {
            return TYPE_XOR_MAPPED_ADDRESS;
        }
    }

    /** PRIORITY: the priority of the peer-reflexive candidate the check would create (unsigned 32 bits). */
    record Priority(long value) implements StunAttribute {
        public Priority {
            if (value < 0 || value > 0xFFFF_FFFFL) {
                throw new IllegalArgumentException("priority is unsigned 32 bits");
            }
        }

        @Override
        public int type() {
            return TYPE_PRIORITY;
        }
    }

    /** USE-CANDIDATE: the controlling agent nominates this pair. No value. */
    record UseCandidate() implements StunAttribute {
        @Override
        public int type() {
            return TYPE_USE_CANDIDATE;
        }
    }

    /** ICE-CONTROLLING with the sender's 64-bit tie-breaker. */
    record IceControlling(long tieBreaker) implements StunAttribute {
        @Override
        public int type() {
            return TYPE_ICE_CONTROLLING;
        }
    }

    /** ICE-CONTROLLED with the sender's 64-bit tie-breaker. */
    record IceControlled(long tieBreaker) implements StunAttribute {
        @Override
        public int type() {
            return TYPE_ICE_CONTROLLED;
        }
    }

    /** ERROR-CODE: a code 300..699 and a UTF-8 reason phrase. */
    record ErrorCode(int code, String reason) implements StunAttribute {
        /** 400 Bad Request. */
        public static final int BAD_REQUEST = 400;
        /** 401 Unauthenticated. */
        public static final int UNAUTHENTICATED = 401;
        /** 487 Role Conflict (RFC 8445). */
        public static final int ROLE_CONFLICT = 487;

        public ErrorCode {
            if (code < 300 || code > 699) {
                throw new IllegalArgumentException("error code must be 300..699: " + code);
            }
            Objects.requireNonNull(reason, "reason");
        }

        @Override
        public int type() {
            return TYPE_ERROR_CODE;
        }
    }

    /** SOFTWARE: a description of the sending software. */
    record Software(String value) implements StunAttribute {
        public Software {
            Objects.requireNonNull(value, "value");
        }

        @Override
        public int type() {
            return TYPE_SOFTWARE;
        }
    }

    /** Any other attribute, kept as raw bytes (value without padding). */
    record Unknown(int type, byte[] value) implements StunAttribute {
        public Unknown {
            if (type < 0 || type > 0xFFFF) {
                throw new IllegalArgumentException("type is 16 bits");
            }
            value = value.clone();
        }

        @Override
        public byte[] value() {
            return value.clone();
        }

        /** Comprehension-required attributes have a type below 0x8000 (RFC 8489 §14). */
        public boolean comprehensionRequired() {
            return type < 0x8000;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Unknown u && u.type == type && Arrays.equals(value, u.value);
        }

        @Override
        public int hashCode() {
            return 31 * type + Arrays.hashCode(value);
        }

        @Override
        public String toString() {
            return "Unknown[type=0x" + Integer.toHexString(type) + ", length=" + value.length + "]";
        }
    }
}
