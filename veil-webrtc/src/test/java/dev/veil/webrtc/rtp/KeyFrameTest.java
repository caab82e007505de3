package dev.veil.webrtc.rtp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class KeyFrameTest {

    private static final HexFormat HEX = HexFormat.of();

    private static boolean vp8(String hex) {
        byte[] b = HEX.parseHex(hex);
        return Vp8Descriptor.isKeyFrame(b, 0, b.length);
    }

    @Test
    void vp8Parse_chromeStyleDescriptor_readsPictureIdAndTl0() throws Exception {
        // X=1 S=1 PID=0 | I=1 L=1 T=1 | M=1 picture id 0x1234 | TL0PICIDX 7 | TID=2 Y=1
        byte[] b = HEX.parseHex("90" + "e0" + "9234" + "07" + "a0" + "9d012a");
        Vp8Descriptor d = Vp8Descriptor.parse(b, 0, b.length);
        assertTrue(d.startOfPartition());
        assertEquals(0, d.partitionId());
        assertEquals(0x1234, d.pictureId());
        assertEquals(7, d.tl0PicIdx());
        assertEquals(2, d.temporalLayer());
        assertTrue(d.layerSync());
        assertEquals(-1, d.keyIdx());
        assertEquals(6, d.length());
    }

    @Test
    void vp8IsKeyFrame_realKeyFrameHeader_true() {
        // frame tag with P=0, then the key-frame start code 9d 01 2a and 640x480
        assertTrue(vp8("10" + "504200" + "9d012a" + "8002e001"));
        // same frame tag with P=1 (an inter frame has no start code)
        assertFalse(vp8("10" + "514200" + "aabbcc"));
    }

    @Test
    void vp8IsKeyFrame_cases() {
        assertTrue(vp8("10" + "50"), "S=1 PID=0 P=0");
        assertFalse(vp8("10" + "51"), "P=1: inter frame");
        assertFalse(vp8("00" + "50"), "not start of partition");
        assertFalse(vp8("11" + "50"), "partition 1");
        assertTrue(vp8("90" + "80" + "05" + "50"), "7-bit picture id");
        assertTrue(vp8("90" + "e0" + "9234" + "07" + "a0" + "50"), "full extension");
        assertFalse(vp8("90" + "e0" + "9234"), "truncated");
        assertFalse(vp8("10"), "no payload header");
        assertFalse(vp8(""), "empty");
    }

    @Test
    void vp8Parse_truncated_throws() {
        byte[] b = HEX.parseHex("90e092");
        assertThrows(RtpException.class, () -> Vp8Descriptor.parse(b, 0, b.length));
        assertThrows(RtpException.class, () -> Vp8Descriptor.parse(b, 0, 0));
    }

    private static boolean h264(String hex) {
        byte[] b = HEX.parseHex(hex);
        return H264.isKeyFrame(b, 0, b.length);
    }

    @Test
    void h264IsKeyFrame_cases() {
        assertTrue(h264("65888400"), "IDR single NAL");
        assertTrue(h264("6742c01f"), "SPS single NAL");
        assertFalse(h264("419a0000"), "non-IDR slice");
        assertTrue(h264("78" + "0004" + "6742c01f" + "0002" + "68ce"), "STAP-A with SPS, PPS");
        assertFalse(h264("78" + "0002" + "68ce" + "0002" + "419a"), "STAP-A with PPS, slice");
        assertFalse(h264("78" + "00ff" + "6742"), "STAP-A with bad size");
        assertTrue(h264("7c" + "85" + "8884"), "FU-A start of IDR");
        assertFalse(h264("7c" + "05" + "8884"), "FU-A middle of IDR");
        assertFalse(h264("7c" + "81" + "9a00"), "FU-A start of non-IDR");
        assertFalse(h264("7c"), "FU-A truncated");
        assertFalse(h264(""), "empty");
    }

    @Test
    void rtpCodec_dispatch() {
        byte[] delta = HEX.parseHex("1051");
        assertTrue(RtpCodec.OPUS.isKeyFrame(delta, 0, 2));
        assertFalse(RtpCodec.VP8.isKeyFrame(delta, 0, 2));
        assertEquals(RtpCodec.VP8, RtpCodec.fromName("vp8"));
        assertEquals(RtpCodec.OPUS, RtpCodec.fromName("opus"));
        assertEquals(RtpCodec.H264, RtpCodec.fromName("H264"));
        // through the enum (it once called itself: inside RtpCodec, "H264" named the constant, not the class)
        byte[] idr = HEX.parseHex("7c858884");
        assertTrue(RtpCodec.H264.isKeyFrame(idr, 0, idr.length));
        byte[] slice = HEX.parseHex("419a0000");
        assertFalse(RtpCodec.H264.isKeyFrame(slice, 0, slice.length));
        assertEquals(RtpCodec.VP9, RtpCodec.fromName("vp9"));
        assertTrue(RtpCodec.VP9.isKeyFrame(new byte[] {(byte) 0x88}, 0, 1), "VP9 B set, P clear");
        assertFalse(RtpCodec.VP9.isKeyFrame(new byte[] {(byte) 0xc8}, 0, 1), "VP9 inter-predicted");
        assertFalse(RtpCodec.VP9.isKeyFrame(new byte[] {(byte) 0x80}, 0, 1), "VP9 not a frame start");
        assertTrue(RtpCodec.VP9.needsKeyFrame());
        assertEquals(RtpCodec.AV1, RtpCodec.fromName("av1"));
        assertTrue(RtpCodec.AV1.isKeyFrame(new byte[] {(byte) 0x18}, 0, 1), "AV1 N set, W 1");
        assertFalse(RtpCodec.AV1.isKeyFrame(new byte[] {(byte) 0x10}, 0, 1), "AV1 N clear");
        assertFalse(RtpCodec.AV1.isKeyFrame(new byte[] {(byte) 0x88}, 0, 1), "AV1 Z set (continuation)");
        assertFalse(RtpCodec.AV1.isKeyFrame(new byte[0], 0, 0), "AV1 empty payload");
        assertTrue(RtpCodec.AV1.needsKeyFrame());
        assertEquals(RtpCodec.OTHER, RtpCodec.fromName("H265"));
        assertTrue(RtpCodec.VP8.needsKeyFrame());
        assertFalse(RtpCodec.OPUS.needsKeyFrame());
    }
}
