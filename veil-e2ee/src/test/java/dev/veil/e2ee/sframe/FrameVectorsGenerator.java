package dev.veil.e2ee.sframe;

import static dev.veil.e2ee.codec.FrameVectorFiles.JSON;
import static dev.veil.e2ee.codec.FrameVectorFiles.bytes;
import static dev.veil.e2ee.codec.FrameVectorFiles.hex;
import static dev.veil.e2ee.codec.FrameVectorFiles.opusFrame;
import static dev.veil.e2ee.codec.FrameVectorFiles.vp8DeltaFrame;
import static dev.veil.e2ee.codec.FrameVectorFiles.vp8KeyFrame;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.veil.e2ee.codec.Codec;
import dev.veil.e2ee.codec.DecryptResult;
import dev.veil.e2ee.codec.FrameBuffers;
import dev.veil.e2ee.codec.FrameType;
import dev.veil.e2ee.codec.FrameVectorFiles;

import dev.veil.e2ee.jframe.JFrameReceiver;
import dev.veil.e2ee.jframe.JFrameSender;
import dev.veil.e2ee.kdf.Hkdf;
import dev.veil.e2ee.key.KeyId;
import dev.veil.e2ee.key.KeyRatchet;
import dev.veil.e2ee.passphrase.PassphraseKeys;
import dev.veil.e2ee.util.SecretBytes;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Writes test-vectors/frames-*.json. Not part of the ordinary run (its name is outside Surefire's includes); run it
 * with {@code -Dtest=FrameVectorsGenerator -Dveil.vectors.write=true} (without the property it reports itself skipped).
 * Deterministic: every key and frame comes from {@link FrameVectorFiles#bytes}. The files are checked by the
 * *VectorsTest classes, which recompute every output from the inputs; this generator is not the check.
 */
class FrameVectorsGenerator {
    static final String SFRAME = "frames-sframe.json";
    static final String JFRAME = "frames-jframe.json";
    static final String RATCHET = "frames-ratchet.json";
    static final String PASSPHRASE = "frames-passphrase.json";
    static final String RECEIVER = "frames-receiver.json";

    @Test
    void generate_writesFrameVectors() throws Exception {
        Assumptions.assumeTrue(FrameVectorFiles.WRITE, "vectors are written only with -Dveil.vectors.write=true");
        FrameVectorFiles.write(SFRAME, sframe());
        FrameVectorFiles.write(JFRAME, jframe());
        FrameVectorFiles.write(RATCHET, ratchet());
        FrameVectorFiles.write(PASSPHRASE, passphrase());
        FrameVectorFiles.write(RECEIVER, receiver());
    }

    // ------------------------------------------------------------------ SFrame

    static ObjectNode sframe() throws Exception {
        ObjectNode root = JSON.createObjectNode();
        root.put("description", "SFrame (RFC 9605) frames as Veil sends them; schema in test-vectors/README.md and"
                + " docs/PROTOCOL.md §2. framing=media: encrypted = clear_prefix ‖ header ‖ ciphertext ‖ tag,"
                + " AAD = header ‖ clear_prefix. framing=rfc: encrypted = header ‖ ciphertext ‖ tag,"
                + " AAD = header ‖ metadata.");
        ArrayNode cases = root.putArray("cases");
        byte[] base = bytes("veil frames sframe base key", 32);
        CipherSuite gcm = CipherSuite.AES_128_GCM_SHA256_128;
        KeyId k00 = new KeyId(0, 0);
        sf(cases, "gcm128 vp8 key frame", gcm, base, k00, 0, Codec.VP8, FrameType.KEY, vp8KeyFrame(64, "f1"));
        sf(cases, "gcm128 vp8 delta frame", gcm, base, k00, 1, Codec.VP8, FrameType.DELTA, vp8DeltaFrame(40, "f2"));
        sf(cases, "gcm128 vp8 key frame, type read from P bit", gcm, base, k00, 2, Codec.VP8, FrameType.UNSPECIFIED,
                vp8KeyFrame(48, "f3"));
        sf(cases, "gcm128 vp8 delta frame, type read from P bit", gcm, base, k00, 3, Codec.VP8,
                FrameType.UNSPECIFIED, vp8DeltaFrame(33, "f4"));
        sf(cases, "gcm128 opus", gcm, base, k00, 7, Codec.OPUS, FrameType.UNSPECIFIED, opusFrame(30, "f5"));
        sf(cases, "gcm128 opus, ctr 8 (first 2-byte header)", gcm, base, k00, 8, Codec.OPUS, FrameType.UNSPECIFIED,
                opusFrame(21, "f6"));
        sf(cases, "gcm128 codec none (whole frame encrypted)", gcm, base, k00, 9, Codec.NONE, FrameType.UNSPECIFIED,
                bytes("f7", 25));
        sf(cases, "gcm128 vp8 key frame shorter than its prefix (6 bytes, all clear)", gcm, base, k00, 4, Codec.VP8,
                FrameType.KEY, vp8KeyFrame(6, "f8"));
        sf(cases, "gcm128 empty opus frame", gcm, base, k00, 5, Codec.OPUS, FrameType.UNSPECIFIED, new byte[0]);
        sf(cases, "gcm128 generation 0x123456 step 7, ctr 2^32+5", gcm, base, new KeyId(0x123456, 7),
                (1L << 32) + 5, Codec.VP8, FrameType.DELTA, vp8DeltaFrame(20, "f9"));
        sf(cases, "gcm128 largest KID, ctr 2^64-1", gcm, base, KeyId.fromKid(-1L), -1L, Codec.OPUS,
                FrameType.UNSPECIFIED, opusFrame(12, "f10"));
        rfc(cases, "gcm128 rfc framing with metadata", gcm, base, new KeyId(1, 2), 300,
                "veil metadata".getBytes(StandardCharsets.UTF_8), bytes("f11", 24));
        CipherSuite ctr80 = CipherSuite.AES_128_CTR_HMAC_SHA256_80;
        sf(cases, "ctr80 vp8 key frame", ctr80, base, k00, 0, Codec.VP8, FrameType.KEY, vp8KeyFrame(64, "c1"));
        sf(cases, "ctr80 vp8 delta frame", ctr80, base, k00, 1, Codec.VP8, FrameType.DELTA, vp8DeltaFrame(40, "c2"));
        sf(cases, "ctr80 opus", ctr80, base, new KeyId(2, 1), 17, Codec.OPUS, FrameType.UNSPECIFIED,
                opusFrame(30, "c3"));
        sf(cases, "ctr64 opus", CipherSuite.AES_128_CTR_HMAC_SHA256_64, base, k00, 0, Codec.OPUS,
                FrameType.UNSPECIFIED, opusFrame(30, "c4"));
        sf(cases, "ctr32 opus", CipherSuite.AES_128_CTR_HMAC_SHA256_32, base, k00, 0, Codec.OPUS,
                FrameType.UNSPECIFIED, opusFrame(30, "c5"));
        sf(cases, "gcm256 vp8 key frame", CipherSuite.AES_256_GCM_SHA512_128, base, k00, 0, Codec.VP8,
                FrameType.KEY, vp8KeyFrame(64, "g1"));
        byte[] pass = PassphraseKeys.deriveSenderKey("correct horse battery staple", "veil-room", "alice")
                .toByteArray();
        sf(cases, "gcm128 passphrase base key (frames-passphrase.json case 0)", gcm, pass, k00, 0, Codec.OPUS,
                FrameType.UNSPECIFIED, opusFrame(30, "p1"));
        return root;
    }

    private static ObjectNode sfCommon(ArrayNode cases, String name, CipherSuite suite, byte[] base, KeyId id,
                                       long ctr) {
        ObjectNode c = cases.addObject();
        c.put("name", name);
        c.put("cipher_suite", suite.id());
        c.put("base_key", hex(base));
        c.put("generation", Long.toUnsignedString(id.generation()));
        c.put("step", id.step());
        c.put("kid", Long.toUnsignedString(id.toKid()));
        c.put("ctr", Long.toUnsignedString(ctr));
        byte[][] ks = SFrameKeySchedule.derive(suite, id.toKid(), base);
        c.put("sframe_key", hex(ks[0]));
        c.put("sframe_salt", hex(ks[1]));
        c.put("nonce", hex(new SFrameAead(suite).nonceFor(SFrameKey.derive(suite, id.toKid(), base), ctr)));
        c.put("header", hex(new SFrameHeader(id.toKid(), ctr).toBytes()));
        return c;
    }

    static void sf(ArrayNode cases, String name, CipherSuite suite, byte[] base, KeyId id, long ctr, Codec codec,
                   FrameType type, byte[] frame) throws Exception {
        ObjectNode c = sfCommon(cases, name, suite, base, id, ctr);
        c.put("framing", "media");
        c.put("codec", codec.name());
        c.put("frame_type", type.name());
        c.put("frame", hex(frame));
        int n = FrameBuffers.prefix(codec, frame, 0, frame.length, type);
        c.put("clear_prefix_length", n);
        byte[] header = new SFrameHeader(id.toKid(), ctr).toBytes();
        c.put("aad", hex(Rfc9605VectorsTest.concat(header, Arrays.copyOf(frame, n))));
        SFrameSender s = new SFrameSender(suite, ctr);
        s.setKey(id, SecretBytes.copyOf(base));
        c.put("encrypted", hex(s.encryptFrame(codec, type, frame)));
    }

    static void rfc(ArrayNode cases, String name, CipherSuite suite, byte[] base, KeyId id, long ctr,
                    byte[] metadata, byte[] pt) throws Exception {
        ObjectNode c = sfCommon(cases, name, suite, base, id, ctr);
        c.put("framing", "rfc");
        c.put("metadata", hex(metadata));
        c.put("plaintext", hex(pt));
        c.put("aad", hex(Rfc9605VectorsTest.concat(new SFrameHeader(id.toKid(), ctr).toBytes(), metadata)));
        SFrameSender s = new SFrameSender(suite, ctr);
        s.setKey(id, SecretBytes.copyOf(base));
        c.put("encrypted", hex(s.encrypt(metadata, pt)));
    }

    // ------------------------------------------------------------------ JFrame

    /** A random source whose only draw (the first SSRC's initial send count) is {@code value}. */
    static RandomGenerator fixedCount(int value) {
        return new RandomGenerator() {
            @Override
            public long nextLong() {
                throw new UnsupportedOperationException();
            }

            @Override
            public int nextInt(int bound) {
                return value;
            }
        };
    }

    static byte[] jitsiAesKey(byte[] material) {
        return Hkdf.SHA256.derive("JFrameEncryptionKey".getBytes(StandardCharsets.US_ASCII), material, new byte[0],
                16);
    }

    static ObjectNode jframe() throws Exception {
        ObjectNode root = JSON.createObjectNode();
        root.put("description", "JFrame (lib-jitsi-meet format) frames; schema in test-vectors/README.md and"
                + " docs/PROTOCOL.md §2. encrypted = clear_prefix ‖ AES-128-GCM ciphertext ‖ tag (16) ‖ iv (12) ‖"
                + " 0x0C ‖ key_index_byte; iv = ssrc BE32 ‖ rtp_timestamp BE32 ‖ send_count BE32; AAD = clear_prefix."
                + " key_mode material: aes_key = HKDF-SHA256(IKM = material, salt = 'JFrameEncryptionKey', info = '',"
                + " 16); key_mode raw: aes_key = raw_key.");
        ArrayNode cases = root.putArray("cases");
        byte[] m = bytes("veil frames jframe material", 32);
        jf(cases, "vp8 key frame", "material", m, 0, 0x11223344, 90000, 100, Codec.VP8, FrameType.KEY,
                vp8KeyFrame(64, "j1"));
        jf(cases, "vp8 delta frame, key index 1", "material", m, 1, 0x11223344, 93000, 101, Codec.VP8,
                FrameType.DELTA, vp8DeltaFrame(40, "j2"));
        jf(cases, "vp8 delta frame, type read from P bit", "material", m, 2, 0x11223344, 96000, 102, Codec.VP8,
                FrameType.UNSPECIFIED, vp8DeltaFrame(35, "j3"));
        jf(cases, "opus", "material", m, 3, 0xcafebabe, 960, 0, Codec.OPUS, FrameType.UNSPECIFIED,
                opusFrame(30, "j4"));
        jf(cases, "key index 17 is written as 1", "material", m, 17, 0x01020304, 12345, 7, Codec.OPUS,
                FrameType.UNSPECIFIED, opusFrame(20, "j5"));
        jf(cases, "largest ssrc, timestamp and send count", "material", m, 15, 0xffffffff, 0xffffffff, 65534,
                Codec.VP8, FrameType.KEY, vp8KeyFrame(30, "j6"));
        jf(cases, "vp8 key frame shorter than its prefix (6 bytes, all clear)", "material", m, 0, 5, 6, 8,
                Codec.VP8, FrameType.KEY, vp8KeyFrame(6, "j7"));
        jf(cases, "empty opus frame", "material", m, 0, 5, 7, 9, Codec.OPUS, FrameType.UNSPECIFIED, new byte[0]);
        jf(cases, "raw key (shared-key mode)", "raw", bytes("veil frames jframe raw key", 16), 4, 0x0badf00d, 480,
                300, Codec.OPUS, FrameType.UNSPECIFIED, opusFrame(30, "j8"));
        byte[] pass = PassphraseKeys.deriveSenderKey("correct horse battery staple", "veil-room", "alice")
                .toByteArray();
        jf(cases, "passphrase key as raw AES key (frames-passphrase.json case 0)", "raw", pass, 0, 0x0badf00d,
                960, 301, Codec.OPUS, FrameType.UNSPECIFIED, opusFrame(30, "j9"));
        // The send counter: initial value, then +1 per frame of the SSRC, modulo 65535 (65534 wraps to 0).
        ObjectNode seq = root.putObject("counter_sequence");
        seq.put("initial_count", 65533);
        JFrameSender s = new JFrameSender(fixedCount(65533));
        s.setKey(0, SecretBytes.copyOf(m));
        ArrayNode counts = seq.putArray("send_counts");
        for (int i = 0; i < 4; i++) {
            byte[] enc = s.encrypt(Codec.OPUS, FrameType.UNSPECIFIED, 42, i * 960, opusFrame(5, "seq" + i));
            counts.add(JFrameReceiverTestAccess.ivCounter(enc));
        }
        return root;
    }

    static void jf(ArrayNode cases, String name, String mode, byte[] key, int keyIndex, long ssrc, long ts,
                   int count, Codec codec, FrameType type, byte[] frame) throws Exception {
        ObjectNode c = cases.addObject();
        c.put("name", name);
        c.put("key_mode", mode);
        c.put(mode.equals("raw") ? "raw_key" : "material", hex(key));
        c.put("aes_key", hex(mode.equals("raw") ? key : jitsiAesKey(key)));
        c.put("key_index", keyIndex);
        c.put("key_index_byte", keyIndex % 16);
        c.put("ssrc", ssrc);
        c.put("rtp_timestamp", ts);
        c.put("send_count", count);
        c.put("codec", codec.name());
        c.put("frame_type", type.name());
        c.put("frame", hex(frame));
        int n = FrameBuffers.prefix(codec, frame, 0, frame.length, type);
        c.put("clear_prefix_length", n);
        byte[] iv = new byte[12];
        putInt(iv, 0, (int) ssrc);
        putInt(iv, 4, (int) ts);
        putInt(iv, 8, count);
        c.put("iv", hex(iv));
        JFrameSender s = new JFrameSender(fixedCount(count));
        if (mode.equals("raw")) {
            s.setRawKey(keyIndex, SecretBytes.copyOf(key));
        } else {
            s.setKey(keyIndex, SecretBytes.copyOf(key));
        }
        c.put("encrypted", hex(s.encrypt(codec, type, (int) ssrc, (int) ts, frame)));
    }

    static void putInt(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 24);
        b[off + 1] = (byte) (v >>> 16);
        b[off + 2] = (byte) (v >>> 8);
        b[off + 3] = (byte) v;
    }

    /** Tiny accessor so the generator can read a JFrame's IV counter. */
    static final class JFrameReceiverTestAccess {
        static int ivCounter(byte[] jframe) {
            int p = jframe.length - 2 - 4;
            return (jframe[p] & 0xFF) << 24 | (jframe[p + 1] & 0xFF) << 16 | (jframe[p + 2] & 0xFF) << 8
                    | (jframe[p + 3] & 0xFF);
        }
    }

    // ------------------------------------------------------------------ ratchets

    static ObjectNode ratchet() {
        ObjectNode root = JSON.createObjectNode();
        root.put("description", "Ratchet chains. veil: base[i+1] = HKDF-SHA256(salt = '', IKM = base[i],"
                + " info = 'Veil 1.0 ratchet', 32); KID = generation << 8 | step; sframe_key/sframe_salt per RFC 9605"
                + " for that KID and cipher_suite. jframe: material[i+1] = HKDF-SHA256(salt = 'JFrameRatchetKey',"
                + " IKM = material[i], info = '', 32); aes_key = HKDF-SHA256(salt = 'JFrameEncryptionKey',"
                + " IKM = material[i], info = '', 16).");
        ObjectNode veil = root.putObject("veil");
        CipherSuite suite = CipherSuite.AES_128_GCM_SHA256_128;
        long generation = 3;
        veil.put("cipher_suite", suite.id());
        veil.put("generation", generation);
        ArrayNode steps = veil.putArray("steps");
        byte[] b = bytes("veil frames ratchet base key", 32);
        for (int s = 0; s <= 16; s++) {
            KeyId id = new KeyId(generation, s);
            byte[][] ks = SFrameKeySchedule.derive(suite, id.toKid(), b);
            ObjectNode o = steps.addObject();
            o.put("step", s);
            o.put("kid", Long.toUnsignedString(id.toKid()));
            o.put("base_key", hex(b));
            o.put("sframe_key", hex(ks[0]));
            o.put("sframe_salt", hex(ks[1]));
            b = KeyRatchet.VEIL.next(b);
        }
        ObjectNode jit = root.putObject("jframe");
        ArrayNode jsteps = jit.putArray("steps");
        byte[] m = bytes("veil frames ratchet jframe material", 32);
        for (int s = 0; s <= 9; s++) {
            ObjectNode o = jsteps.addObject();
            o.put("step", s);
            o.put("material", hex(m));
            o.put("aes_key", hex(jitsiAesKey(m)));
            m = KeyRatchet.JFRAME.next(m);
        }
        return root;
    }

    // ------------------------------------------------------------------ passphrase

    static ObjectNode passphrase() {
        ObjectNode root = JSON.createObjectNode();
        root.put("description", "Passphrase mode: key = PBKDF2-HMAC-SHA256(password = UTF8(passphrase),"
                + " salt = UTF8(room) ‖ 0x00 ‖ UTF8(participant_id), iterations, 16 bytes). JFrame uses key as the"
                + " AES-128 key; SFrame uses it as the base key.");
        ArrayNode cases = root.putArray("cases");
        pp(cases, "correct horse battery staple", "veil-room", "alice");
        pp(cases, "correct horse battery staple", "veil-room", "bob");
        pp(cases, "pässwörd ✓ 🔑", "Raum/1", "participant-ß");
        pp(cases, "x", "room", "x1");
        pp(cases, "x", "roomx", "1");
        return root;
    }

    static void pp(ArrayNode cases, String passphrase, String room, String participant) {
        ObjectNode c = cases.addObject();
        c.put("passphrase", passphrase);
        c.put("room", room);
        c.put("participant_id", participant);
        c.put("salt", hex(PassphraseKeys.salt(room, participant)));
        c.put("iterations", PassphraseKeys.ITERATIONS);
        c.put("key", hex(PassphraseKeys.deriveSenderKey(passphrase, room, participant).toByteArray()));
    }

    // ------------------------------------------------------------------ receiver scenarios

    static ObjectNode receiver() throws Exception {
        ObjectNode root = JSON.createObjectNode();
        root.put("description", "Receiver scenarios: install the keys in a fresh receiver, then decrypt the steps in"
                + " order; each expects OK (with output) or a rejection reason. Schema in test-vectors/README.md.");
        ArrayNode sc = root.putArray("scenarios");
        CipherSuite gcm = CipherSuite.AES_128_GCM_SHA256_128;
        byte[] base = bytes("veil frames receiver base key", 32);

        // SFrame replay and reordering
        {
            SFrameSender s = new SFrameSender(gcm);
            s.setKey(new KeyId(1, 0), SecretBytes.copyOf(base));
            byte[][] f = new byte[1027][];
            for (int i = 0; i < f.length; i++) {
                f[i] = s.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, opusFrame(12, "r" + i));
            }
            Scenario x = new Scenario(sc, "sframe replay window", gcm);
            x.sframeKey(new KeyId(1, 0), base);
            x.step("first frame", Codec.OPUS, FrameType.UNSPECIFIED, f[0]);
            x.step("same frame again", Codec.OPUS, FrameType.UNSPECIFIED, f[0]);
            x.step("ctr 2 before ctr 1", Codec.OPUS, FrameType.UNSPECIFIED, f[2]);
            x.step("ctr 1 late but inside the window", Codec.OPUS, FrameType.UNSPECIFIED, f[1]);
            x.step("ctr 1 again", Codec.OPUS, FrameType.UNSPECIFIED, f[1]);
            x.step("ctr 1026", Codec.OPUS, FrameType.UNSPECIFIED, f[1026]);
            x.step("ctr 3 is 1023 behind: still inside (window 1024)", Codec.OPUS, FrameType.UNSPECIFIED, f[3]);
            x.step("ctr 2 is 1024 behind: too old", Codec.OPUS, FrameType.UNSPECIFIED, f[2]);
            x.step("ctr 1 too old (and seen)", Codec.OPUS, FrameType.UNSPECIFIED, f[1]);
        }
        // SFrame age floor: a frame behind the highest is refused once it must be older than 2 s
        {
            SFrameSender s = new SFrameSender(gcm);
            s.setKey(new KeyId(1, 0), SecretBytes.copyOf(base));
            byte[][] f = new byte[8][];
            for (int i = 0; i < f.length; i++) {
                f[i] = s.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, opusFrame(12, "age" + i));
            }
            Scenario x = new Scenario(sc, "sframe age floor (2 s)", gcm);
            x.sframeKey(new KeyId(1, 0), base);
            x.at(1_000).step("ctr 0", Codec.OPUS, FrameType.UNSPECIFIED, f[0]);
            x.at(1_000).step("ctr 3", Codec.OPUS, FrameType.UNSPECIFIED, f[3]);
            x.at(2_900).step("ctr 1, 1.9 s after ctr 3 arrived: late but accepted", Codec.OPUS,
                    FrameType.UNSPECIFIED, f[1]);
            x.at(3_001).step("ctr 2, withheld for more than 2 s after ctr 3 arrived: too old", Codec.OPUS,
                    FrameType.UNSPECIFIED, f[2]);
            x.at(3_001).step("ctr 5 (ahead) is accepted", Codec.OPUS, FrameType.UNSPECIFIED, f[5]);
            x.at(3_100).step("ctr 4 arrives 99 ms after ctr 5: accepted", Codec.OPUS, FrameType.UNSPECIFIED, f[4]);
        }
        // SFrame key expiry: an older generation is deleted once a newer one is in use
        {
            byte[] next = bytes("veil frames receiver next generation", 32);
            SFrameSender s = new SFrameSender(gcm);
            s.setKey(new KeyId(1, 0), SecretBytes.copyOf(base));
            byte[] old0 = s.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, opusFrame(12, "old0"));
            byte[] old1 = s.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, opusFrame(12, "old1"));
            byte[] old2 = s.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, opusFrame(12, "old2"));
            s.setKey(new KeyId(2, 0), SecretBytes.copyOf(next));
            byte[] new0 = s.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, opusFrame(12, "new0"));
            byte[] new1 = s.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, opusFrame(12, "new1"));
            SFrameSender leaver = new SFrameSender(gcm, 50);
            leaver.setKey(new KeyId(1, 0), SecretBytes.copyOf(base));
            byte[] forged = leaver.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, opusFrame(12, "forged"));
            leaver.ratchet();
            byte[] forgedStep1 = leaver.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, opusFrame(12, "forged1"));
            Scenario x = new Scenario(sc, "sframe key expiry: older generation deleted after the newer is used", gcm);
            x.sframeKey(new KeyId(1, 0), base);
            x.at(0).step("generation 1", Codec.OPUS, FrameType.UNSPECIFIED, old0);
            x.at(100).installSframeKey("generation 2 installed: generation 1 expires by 2100", new KeyId(2, 0), next);
            x.at(200).step("generation 1 still in use", Codec.OPUS, FrameType.UNSPECIFIED, old1);
            x.at(300).step("first frame under generation 2: generation 1 expires by 550", Codec.OPUS,
                    FrameType.UNSPECIFIED, new0);
            x.at(500).step("generation 1 frame in flight (within 250 ms)", Codec.OPUS, FrameType.UNSPECIFIED,
                    old2);
            x.at(550).step("a frame under generation 1 (a departed member's forgery): expired", Codec.OPUS,
                    FrameType.UNSPECIFIED, forged);
            x.at(560).step("ratcheting the expired generation is refused too", Codec.OPUS,
                    FrameType.UNSPECIFIED, forgedStep1);
            x.at(570).installSframeKey("installing generation 1 again is ignored", new KeyId(1, 0), base);
            x.at(580).step("still expired", Codec.OPUS, FrameType.UNSPECIFIED, forged);
            x.at(590).step("generation 2 goes on", Codec.OPUS, FrameType.UNSPECIFIED, new1);
        }
        // SFrame tampering, truncation, malformed header, unknown key
        {
            SFrameSender s = new SFrameSender(gcm);
            s.setKey(new KeyId(1, 0), SecretBytes.copyOf(base));
            byte[] key = s.encryptFrame(Codec.VP8, FrameType.KEY, vp8KeyFrame(50, "t1"));
            byte[] delta = s.encryptFrame(Codec.VP8, FrameType.DELTA, vp8DeltaFrame(30, "t2"));
            Scenario x = new Scenario(sc, "sframe bad tag, truncated, malformed, no key", gcm);
            x.sframeKey(new KeyId(1, 0), base);
            x.step("ciphertext bit flipped", Codec.VP8, FrameType.UNSPECIFIED, flip(key, 20));
            x.step("clear prefix (AAD) bit flipped: width byte", Codec.VP8, FrameType.UNSPECIFIED, flip(key, 6));
            x.step("tag bit flipped", Codec.VP8, FrameType.UNSPECIFIED, flip(key, key.length - 1));
            x.step("header CTR changed 0 -> 1", Codec.VP8, FrameType.UNSPECIFIED, flip(key, 10));
            x.step("the genuine frame still decrypts after the forgeries", Codec.VP8, FrameType.UNSPECIFIED, key);
            x.step("delta frame", Codec.VP8, FrameType.UNSPECIFIED, delta);
            x.step("cut inside the tag (15 bytes)", Codec.VP8, FrameType.UNSPECIFIED, Arrays.copyOf(delta, 15));
            x.step("empty frame", Codec.VP8, FrameType.UNSPECIFIED, new byte[0]);
            x.step("header announces an 8-byte KID that is not there", Codec.NONE, FrameType.UNSPECIFIED,
                    new byte[] {(byte) 0xf0, 1, 2});
            SFrameSender other = new SFrameSender(gcm);
            other.setKey(new KeyId(9, 0), SecretBytes.copyOf(base));
            x.step("KID of an unknown generation", Codec.OPUS, FrameType.UNSPECIFIED,
                    other.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, opusFrame(10, "t3")));
        }
        // SFrame ratchet forward
        {
            Scenario x = new Scenario(sc, "sframe ratchet forward within a generation", gcm);
            x.sframeKey(new KeyId(5, 0), base);
            SFrameSender s = new SFrameSender(gcm);
            s.setKey(new KeyId(5, 0), SecretBytes.copyOf(base));
            byte[] at0 = s.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, opusFrame(10, "a0"));
            for (int i = 0; i < 17; i++) {
                s.ratchet();
            }
            byte[] at17 = s.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, opusFrame(10, "a17"));
            SFrameSender s3 = new SFrameSender(gcm, 1000);
            s3.setKey(new KeyId(5, 0), SecretBytes.copyOf(base));
            for (int i = 0; i < 3; i++) {
                s3.ratchet();
            }
            byte[] at3 = s3.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, opusFrame(10, "a3"));
            byte[] at3b = s3.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, opusFrame(10, "a3b"));
            SFrameSender wrong = new SFrameSender(gcm, 2000);
            wrong.setKey(new KeyId(5, 2), SecretBytes.copyOf(bytes("not the ratcheted key", 32)));
            byte[] forged2 = wrong.encryptFrame(Codec.OPUS, FrameType.UNSPECIFIED, opusFrame(10, "w"));
            x.step("step 17 is more than 16 steps ahead of step 0", Codec.OPUS, FrameType.UNSPECIFIED, at17);
            x.step("step 2 under a wrong key: not installed", Codec.OPUS, FrameType.UNSPECIFIED, forged2);
            x.step("step 3: ratcheted from step 0 and installed", Codec.OPUS, FrameType.UNSPECIFIED, at3);
            x.step("step 3 again, next ctr", Codec.OPUS, FrameType.UNSPECIFIED, at3b);
            x.step("step 0 still installed", Codec.OPUS, FrameType.UNSPECIFIED, at0);
            x.step("step 17 is now 14 steps ahead of step 3", Codec.OPUS, FrameType.UNSPECIFIED, at17);
        }
        // JFrame replay (wrap-aware) and malformed trailers
        {
            byte[] m = bytes("veil frames receiver material", 32);
            JFrameSender s = new JFrameSender(fixedCount(65533));
            s.setKey(2, SecretBytes.copyOf(m));
            byte[][] f = new byte[5][];
            for (int i = 0; i < f.length; i++) {
                f[i] = s.encrypt(Codec.VP8, FrameType.DELTA, 0x5151, i * 3000, vp8DeltaFrame(20, "jr" + i));
            }
            Scenario x = new Scenario(sc, "jframe replay window across the counter wrap", null);
            x.jframeKey(2, "material", m);
            x.step("count 65533", Codec.VP8, FrameType.UNSPECIFIED, f[0]);
            x.step("count 0 (after 65534)", Codec.VP8, FrameType.UNSPECIFIED, f[2]);
            x.step("count 65534, late", Codec.VP8, FrameType.UNSPECIFIED, f[1]);
            x.step("count 65533 replayed", Codec.VP8, FrameType.UNSPECIFIED, f[0]);
            x.step("count 1", Codec.VP8, FrameType.UNSPECIFIED, f[3]);
            x.step("count 0 replayed", Codec.VP8, FrameType.UNSPECIFIED, f[2]);
            byte[] badIvLen = f[3].clone();
            badIvLen[badIvLen.length - 2] = 11;
            x.step("IV-length byte 11", Codec.VP8, FrameType.UNSPECIFIED, badIvLen);
            byte[] badIndex = f[3].clone();
            badIndex[badIndex.length - 1] = 16;
            x.step("key index 16", Codec.VP8, FrameType.UNSPECIFIED, badIndex);
            byte[] emptySlot = f[3].clone();
            emptySlot[emptySlot.length - 1] = 3;
            x.step("key index 3: empty slot", Codec.VP8, FrameType.UNSPECIFIED, emptySlot);
            byte[] bigCount = f[3].clone();
            bigCount[bigCount.length - 2 - 4 + 1] = 0; // counter bytes 8..11 of the IV: 00 00 ff ff
            bigCount[bigCount.length - 2 - 4 + 2] = (byte) 0xff;
            bigCount[bigCount.length - 2 - 4 + 3] = (byte) 0xff;
            x.step("counter 0xFFFF cannot come from a Jitsi sender", Codec.VP8, FrameType.UNSPECIFIED, bigCount);
            x.step("29 bytes", Codec.VP8, FrameType.UNSPECIFIED, Arrays.copyOf(f[3], 29));
            x.step("count 2 with a ciphertext bit flipped (8 ratchets tried)", Codec.VP8, FrameType.UNSPECIFIED, flip(f[4], 5));
            x.step("count 2 genuine", Codec.VP8, FrameType.UNSPECIFIED, f[4]);
        }
        // JFrame: a frame recorded minutes earlier (its counter wrapped into "ahead") is refused by its timestamp
        {
            byte[] m = bytes("veil frames receiver material", 32);
            JFrameSender early = new JFrameSender(fixedCount(100));
            early.setKey(2, SecretBytes.copyOf(m));
            byte[] recorded = early.encrypt(Codec.OPUS, FrameType.UNSPECIFIED, 0x7070, 48_000, opusFrame(20, "rec"));
            JFrameSender later = new JFrameSender(fixedCount(40_100)); // 40000 frames (13.3 min at 50 fps) later
            later.setKey(2, SecretBytes.copyOf(m));
            long ts = 48_000L + 40_000L * 960;
            byte[] live0 = later.encrypt(Codec.OPUS, FrameType.UNSPECIFIED, 0x7070, (int) ts, opusFrame(20, "l0"));
            byte[] live1 = later.encrypt(Codec.OPUS, FrameType.UNSPECIFIED, 0x7070, (int) (ts + 960),
                    opusFrame(20, "l1"));
            byte[] live2 = later.encrypt(Codec.OPUS, FrameType.UNSPECIFIED, 0x7070, (int) (ts + 1920),
                    opusFrame(20, "l2"));
            byte[] live3 = later.encrypt(Codec.OPUS, FrameType.UNSPECIFIED, 0x7070, (int) (ts + 2880),
                    opusFrame(20, "l3"));
            byte[] future = later.encrypt(Codec.OPUS, FrameType.UNSPECIFIED, 0x7070, (int) (ts + 48_000 * 10),
                    opusFrame(20, "fut"));
            Scenario x = new Scenario(sc, "jframe counter wrap: a frame recorded minutes earlier", null);
            x.jframeKey(2, "material", m);
            x.at(800_000).step("live count 40100", Codec.OPUS, FrameType.UNSPECIFIED, live0);
            x.at(800_020).step("live count 40101", Codec.OPUS, FrameType.UNSPECIFIED, live1);
            x.at(800_030).step("count 100 recorded 13 minutes earlier: 25535 ahead by the counter, refused by its"
                    + " RTP timestamp", Codec.OPUS, FrameType.UNSPECIFIED, recorded);
            x.at(800_040).step("the live frames go on", Codec.OPUS, FrameType.UNSPECIFIED, live2);
            x.at(800_050).step("a timestamp 10 s beyond the elapsed media time is refused", Codec.OPUS,
                    FrameType.UNSPECIFIED, future);
            x.at(803_000).step("count 40103 (ahead) withheld for ~3 s: its timestamp is 2.9 s behind the elapsed"
                    + " time, too old", Codec.OPUS, FrameType.UNSPECIFIED, live3);
        }
        // JFrame ratchet on failure on the KID slot
        {
            byte[] m = bytes("veil frames receiver ratchet material", 32);
            JFrameSender s = new JFrameSender(fixedCount(10));
            s.setKey(6, SecretBytes.copyOf(m));
            JFrameSender cur = new JFrameSender(fixedCount(500));
            cur.setKey(7, SecretBytes.copyOf(bytes("another current key", 32)));
            byte[] at0 = s.encrypt(Codec.OPUS, FrameType.UNSPECIFIED, 77, 0, opusFrame(16, "k0"));
            byte[] at0b = s.encrypt(Codec.OPUS, FrameType.UNSPECIFIED, 77, 480, opusFrame(16, "k0b"));
            byte[] other = cur.encrypt(Codec.OPUS, FrameType.UNSPECIFIED, 78, 0, opusFrame(16, "k7"));
            for (int i = 0; i < 3; i++) {
                s.ratchet();
            }
            byte[] at3 = s.encrypt(Codec.OPUS, FrameType.UNSPECIFIED, 77, 960, opusFrame(16, "k3"));
            for (int i = 3; i < 12; i++) {
                s.ratchet();
            }
            byte[] at12 = s.encrypt(Codec.OPUS, FrameType.UNSPECIFIED, 77, 1920, opusFrame(16, "k12"));
            JFrameSender raw = new JFrameSender(fixedCount(20));
            raw.setRawKey(8, SecretBytes.copyOf(bytes("raw key", 16)));
            byte[] rawFrame = raw.encrypt(Codec.OPUS, FrameType.UNSPECIFIED, 79, 0, opusFrame(16, "raw"));
            Scenario x = new Scenario(sc, "jframe ratchet on failure (slot of the key index, not the current one)",
                    null);
            x.jframeKey(6, "material", m);
            x.jframeKey(7, "material", bytes("another current key", 32));
            x.jframeKey(8, "raw", bytes("a different raw key", 16));
            x.step("slot 6 step 0", Codec.OPUS, FrameType.UNSPECIFIED, at0);
            x.step("slot 7 (installed last, i.e. Jitsi's current slot)", Codec.OPUS, FrameType.UNSPECIFIED, other);
            x.step("slot 6 sender 3 steps ahead: ratcheted and committed", Codec.OPUS, FrameType.UNSPECIFIED, at3);
            x.step("another slot 6 step-0 frame: the slot now holds step 3", Codec.OPUS, FrameType.UNSPECIFIED,
                    at0b);
            x.step("slot 6 sender 9 more steps ahead (12): beyond the window of 8", Codec.OPUS,
                    FrameType.UNSPECIFIED, at12);
            x.step("raw key slot with the wrong key: no ratchet", Codec.OPUS, FrameType.UNSPECIFIED, rawFrame);
        }
        return root;
    }

    static byte[] flip(byte[] b, int i) {
        byte[] c = b.clone();
        c[i] ^= 1;
        return c;
    }

    /** Builds one scenario and records what a fresh receiver returns for each step. */
    static final class Scenario {
        final ObjectNode node;
        final ArrayNode keys;
        final ArrayNode steps;
        final SFrameReceiver sframe;
        final JFrameReceiver jframe;

        Scenario(ArrayNode scenarios, String name, CipherSuite suite) {
            node = scenarios.addObject();
            node.put("name", name);
            node.put("format", suite == null ? "jframe" : "sframe");
            if (suite != null) {
                node.put("cipher_suite", suite.id());
            }
            keys = node.putArray("keys");
            steps = node.putArray("steps");
            sframe = suite == null ? null : new SFrameReceiver(suite);
            jframe = suite == null ? new JFrameReceiver() : null;
        }

        void sframeKey(KeyId id, byte[] base) {
            ObjectNode k = keys.addObject();
            k.put("kid", Long.toUnsignedString(id.toKid()));
            k.put("base_key", hex(base));
            sframe.addKey(id, SecretBytes.copyOf(base));
        }

        void jframeKey(int index, String mode, byte[] key) {
            ObjectNode k = keys.addObject();
            k.put("key_index", index);
            k.put(mode.equals("raw") ? "raw_key" : "material", hex(key));
            if (mode.equals("raw")) {
                jframe.setRawKey(index, SecretBytes.copyOf(key));
            } else {
                jframe.setKey(index, SecretBytes.copyOf(key));
            }
        }

        long at;

        /** The receiver's clock for the steps from here on (recorded as at_ms). */
        Scenario at(long ms) {
            at = ms;
            return this;
        }

        /** A step that installs an SFrame key at the current time. */
        void installSframeKey(String note, KeyId id, byte[] base) {
            ObjectNode s = steps.addObject();
            s.put("note", note);
            s.put("at_ms", at);
            ObjectNode k = s.putObject("install");
            k.put("kid", Long.toUnsignedString(id.toKid()));
            k.put("base_key", hex(base));
            sframe.addKey(id, SecretBytes.copyOf(base), at);
        }

        void step(String note, Codec codec, FrameType type, byte[] input) {
            ObjectNode s = steps.addObject();
            s.put("note", note);
            if (at != 0) {
                s.put("at_ms", at);
            }
            s.put("codec", codec.name());
            s.put("frame_type", type.name());
            s.put("input", hex(input));
            byte[] out = new byte[input.length];
            DecryptResult r = sframe != null
                    ? sframe.decryptFrame(codec, type, input, 0, input.length, out, 0, at)
                    : jframe.decrypt(codec, type, input, 0, input.length, out, 0, at);
            if (r instanceof DecryptResult.Decrypted d) {
                s.put("expect", "OK");
                s.put("output", hex(Arrays.copyOf(out, d.length())));
            } else if (r instanceof DecryptResult.Rejected rej) {
                s.put("expect", rej.reason().name());
            }
        }
    }

}
