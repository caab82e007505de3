package dev.veil.webrtc.rtcp;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Source description, PT=202 (RFC 3550 §6.5).
 *
 * <pre>
 * |V=2|P|    SC   |  PT=SDES=202  |             length            |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |                          SSRC/CSRC_1                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |    CNAME=1    |     length    | user and domain name        ...
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  ... items, then a null item (0) and zero padding to 32 bits  |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * </pre>
 *
 * @param chunks up to 31 chunks
 */
public record SourceDescription(List<SourceDescription.Chunk> chunks) implements RtcpPacket {

    /** SDES item type CNAME. */
    public static final int CNAME = 1;

    public SourceDescription {
        chunks = List.copyOf(chunks);
        if (chunks.size() > 31) {
            throw new IllegalArgumentException("at most 31 chunks");
        }
    }

    /** One SDES item: a type 1..255 and a UTF-8 text of at most 255 bytes. */
    public record Item(int type, String text) {
        public Item {
            if (type < 1 || type > 255) {
                throw new IllegalArgumentException("item type must be 1..255");
            }
            Objects.requireNonNull(text, "text");
            if (text.getBytes(StandardCharsets.UTF_8).length > 255) {
                throw new IllegalArgumentException("item text longer than 255 bytes");
            }
        }
    }

    /** The items of one source. */
    public record Chunk(long ssrc, List<Item> items) {
        public Chunk {
            Bytes.checkU32(ssrc, "ssrc");
            items = List.copyOf(items);
        }

        /** The CNAME item's text, if any. */
        public Optional<String> cname() {
            return items.stream().filter(i -> i.type() == CNAME).map(Item::text).findFirst();
        }

        int length() {
            int n = 4;
            for (Item i : items) {
                n += 2 + i.text().getBytes(StandardCharsets.UTF_8).length;
            }
            return (n + 1 + 3) & ~3; // null item, then pad to 32 bits
        }
    }

    /** An SDES with one chunk carrying a CNAME. */
    public static SourceDescription cname(long ssrc, String cname) {
        return new SourceDescription(List.of(new Chunk(ssrc, List.of(new Item(CNAME, cname)))));
    }

    @Override
    public int packetType() {
        return PT_SDES;
    }

    @Override
    public int encodedLength() {
        int n = 4;
        for (Chunk c : chunks) {
            n += c.length();
        }
        return n;
    }

    @Override
    public int writeTo(byte[] out, int off) {
        int len = encodedLength();
        java.util.Arrays.fill(out, off, off + len, (byte) 0);
        Bytes.header(out, off, chunks.size(), PT_SDES, len);
        int p = off + 4;
        for (Chunk c : chunks) {
            int start = p;
            Bytes.w32(out, p, c.ssrc());
            p += 4;
            for (Item i : c.items()) {
                byte[] t = i.text().getBytes(StandardCharsets.UTF_8);
                out[p] = (byte) i.type();
                out[p + 1] = (byte) t.length;
                System.arraycopy(t, 0, out, p + 2, t.length);
                p += 2 + t.length;
            }
            p = start + c.length();
        }
        return len;
    }

    static SourceDescription read(byte[] b, int o, int count, int len) throws RtcpException {
        List<Chunk> chunks = new ArrayList<>(count);
        int p = o + 4;
        int end = o + len;
        for (int c = 0; c < count; c++) {
            if (end - p < 4) {
                throw new RtcpException("SDES chunk truncated");
            }
            long ssrc = Bytes.u32(b, p);
            p += 4;
            List<Item> items = new ArrayList<>();
            while (true) {
                if (p >= end) {
                    throw new RtcpException("SDES chunk without a terminating null item");
                }
                int type = Bytes.u8(b, p);
                if (type == 0) {
                    p++;
                    p = o + ((p - o + 3) & ~3); // skip padding to the next 32-bit boundary
                    break;
                }
                if (end - p < 2) {
                    throw new RtcpException("SDES item header truncated");
                }
                int n = Bytes.u8(b, p + 1);
                if (end - p - 2 < n) {
                    throw new RtcpException("SDES item overruns the packet");
                }
                items.add(new Item(type, Bytes.utf8(b, p + 2, n, "SDES item")));
                p += 2 + n;
            }
            chunks.add(new Chunk(ssrc, items));
        }
        return new SourceDescription(chunks);
    }
}
