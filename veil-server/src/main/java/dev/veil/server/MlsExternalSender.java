package dev.veil.server;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Objects;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * The server as MLS external sender (RFC 9420 §12.1.8.1, docs/PROTOCOL.md §4.8): it holds one Ed25519 signature key
 * of its own — never a group secret — and signs Add and Remove proposals built only from public data (the group id,
 * the epoch, a key package a client published, a leaf index). A proposal from an external sender carries no
 * membership tag and its signature does not cover the group context (RFC 9420 §6.1), which is why a keyless server
 * can make one. Members verify it against the {@code external_senders} extension the group's creator put in the
 * group context, and accept it only if it matches the membership the server announced to them.
 *
 * <pre>
 *   ExternalSender  = signature_key&lt;V&gt; (32) ‖ Credential { uint16 1 (basic) ‖ identity&lt;V&gt; }
 *   MLSMessage      = uint16 1 ‖ uint16 1 (public_message) ‖ FramedContent ‖ signature&lt;V&gt;   (no membership tag)
 *   FramedContent   = group_id&lt;V&gt; ‖ uint64 epoch ‖ uint8 2 (external) ‖ uint32 0 ‖ authenticated_data&lt;V&gt; (empty)
 *                     ‖ uint8 2 (proposal) ‖ Proposal
 *   Proposal        = uint16 1 ‖ KeyPackage  (add)  |  uint16 3 ‖ uint32 removed_leaf  (remove)
 *   signature       = Ed25519(SignContent{ "MLS 1.0 FramedContentTBS"&lt;V&gt; ‖ FramedContentTBS&lt;V&gt; })
 *   FramedContentTBS = uint16 1 ‖ uint16 1 ‖ FramedContent        (external sender: no group context)
 * </pre>
 *
 * The key bytes never appear in {@link #toString()} or an exception. Thread-safe (immutable after construction).
 */
public final class MlsExternalSender {
    /** The credential identity of the server's external-sender entry. */
    public static final byte[] IDENTITY = "veil-server".getBytes(StandardCharsets.US_ASCII);

    private final byte[] seed;
    private final byte[] publicKey = new byte[Ed25519.PUBLIC_KEY_SIZE];
    private final byte[] externalSender;

    public MlsExternalSender(SecureRandom random) {
        seed = new byte[Ed25519.SECRET_KEY_SIZE];
        Objects.requireNonNull(random, "random").nextBytes(seed);
        Ed25519.generatePublicKey(seed, 0, publicKey, 0);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        opaque(b, publicKey);
        u16(b, 1);
        opaque(b, IDENTITY);
        externalSender = b.toByteArray();
    }

    /** The serialized {@code ExternalSender} the group's creator puts in the {@code external_senders} extension. */
    public byte[] externalSender() {
        return externalSender.clone();
    }

    /** The Ed25519 public key (32 bytes). */
    public byte[] publicKey() {
        return publicKey.clone();
    }

    /**
     * An external Add proposal for {@code epoch} of {@code groupId} of the key package a client published
     * ({@code keyPackageMessage}: the MLSMessage with wire format 5, as relayed).
     */
    public byte[] addProposal(byte[] groupId, long epoch, byte[] keyPackageMessage) {
        if (keyPackageMessage.length < 8 || keyPackageMessage[0] != 0 || keyPackageMessage[1] != 1
                || keyPackageMessage[2] != 0 || keyPackageMessage[3] != 5) {
            throw new IllegalArgumentException("not an mls10 key package message");
        }
        ByteArrayOutputStream p = new ByteArrayOutputStream();
        u16(p, 1);
        p.write(keyPackageMessage, 4, keyPackageMessage.length - 4);
        return proposal(groupId, epoch, p.toByteArray());
    }

    /** An external Remove proposal for {@code epoch} of {@code groupId} removing leaf {@code leaf}. */
    public byte[] removeProposal(byte[] groupId, long epoch, int leaf) {
        if (leaf < 0) {
            throw new IllegalArgumentException("leaf < 0");
        }
        ByteArrayOutputStream p = new ByteArrayOutputStream();
        u16(p, 3);
        u32(p, leaf);
        return proposal(groupId, epoch, p.toByteArray());
    }

    private byte[] proposal(byte[] groupId, long epoch, byte[] proposal) {
        if (groupId.length == 0 || groupId.length > 255) {
            throw new IllegalArgumentException("group id must be 1..255 bytes");
        }
        ByteArrayOutputStream content = new ByteArrayOutputStream();
        opaque(content, groupId);
        for (int i = 7; i >= 0; i--) {
            content.write((int) (epoch >>> (8 * i)));
        }
        content.write(2); // sender_type external
        u32(content, 0); // sender_index: this server is entry 0 of external_senders
        content.write(0); // authenticated_data: empty
        content.write(2); // content_type proposal
        content.writeBytes(proposal);
        byte[] framed = content.toByteArray();

        ByteArrayOutputStream tbs = new ByteArrayOutputStream();
        u16(tbs, 1);
        u16(tbs, 1);
        tbs.writeBytes(framed);
        ByteArrayOutputStream signContent = new ByteArrayOutputStream();
        opaque(signContent, "MLS 1.0 FramedContentTBS".getBytes(StandardCharsets.US_ASCII));
        opaque(signContent, tbs.toByteArray());
        byte[] input = signContent.toByteArray();
        byte[] sig = new byte[Ed25519.SIGNATURE_SIZE];
        Ed25519.sign(seed, 0, publicKey, 0, input, 0, input.length, sig, 0);

        ByteArrayOutputStream msg = new ByteArrayOutputStream();
        u16(msg, 1);
        u16(msg, 1);
        msg.writeBytes(framed);
        opaque(msg, sig);
        return msg.toByteArray();
    }

    /** Overwrites the signing key (the server stops proposing). */
    void destroy() {
        Arrays.fill(seed, (byte) 0);
    }

    static void u16(ByteArrayOutputStream b, int v) {
        b.write(v >>> 8);
        b.write(v);
    }

    static void u32(ByteArrayOutputStream b, int v) {
        b.write(v >>> 24);
        b.write(v >>> 16);
        b.write(v >>> 8);
        b.write(v);
    }

    /** An {@code opaque<V>}: RFC 9420 §2.1.2 varint length (1, 2 or 4 bytes) and the bytes. */
    static void opaque(ByteArrayOutputStream b, byte[] v) {
        int n = v.length;
        if (n < 0x40) {
            b.write(n);
        } else if (n < 0x4000) {
            b.write(0x40 | n >>> 8);
            b.write(n);
        } else if (n < 0x40000000) {
            b.write(0x80 | n >>> 24);
            b.write(n >>> 16);
            b.write(n >>> 8);
            b.write(n);
        } else {
            throw new IllegalArgumentException("vector too long");
        }
        b.writeBytes(v);
    }

    @Override
    public String toString() {
        return "MlsExternalSender[" + publicKey.length + "-byte Ed25519 key]";
    }
}
