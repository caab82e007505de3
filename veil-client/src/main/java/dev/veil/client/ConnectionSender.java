package dev.veil.client;

import dev.veil.e2ee.codec.FrameCryptoException;
import dev.veil.signaling.Data;
import dev.veil.signaling.Receive;
import dev.veil.signaling.Role;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.concurrent.CompletableFuture;

/**
 * What the application sends through one {@link Connection}: Opus frames, screen-share and simulcast camera VP8
 * frames (sealed by {@link ConnectionE2ee}, then packetized and sent by {@link MediaTransport}), data messages (sealed,
 * then relayed by {@link ClientSignaling}) and its receive request. {@link Connection}'s send methods delegate here;
 * their Javadoc is the contract.
 *
 * <p>Each send checks its arguments and the state on the caller's thread, so a misuse throws to the caller rather than
 * vanishing on the loop; it copies the frame there, since the application may reuse its buffer as soon as the call
 * returns. The sealing and sending run on the loop thread, where the E2EE state and the RTP streams live, and check
 * the state again: the connection may have ended in between. Fail closed: a frame the E2EE layer cannot seal (null)
 * is not sent at all. No I/O of its own.
 */
final class ConnectionSender {
    private final Role role;
    private final Options options;
    private final ConnectionRuntime runtime;
    private final ConnectionE2ee e2ee;
    private final MediaTransport transport;
    private final ClientSignaling signaling;

    ConnectionSender(Role role, Options options, ConnectionRuntime runtime) {
        this.role = role;
        this.options = options;
        this.runtime = runtime;
        this.e2ee = runtime.e2ee();
        this.transport = runtime.transport();
        this.signaling = runtime.signaling();
    }

    /** See {@link Connection#sendAudioFrame}. */
    void sendAudioFrame(byte[] opusFrame, long rtpTimestamp) {
        if (!role.sends()) {
            throw new IllegalStateException("a recvonly connection sends no media");
        }
        if (!runtime.isConnected()) {
            throw new IllegalStateException("not connected");
        }
        if (opusFrame.length == 0 || opusFrame.length > Connection.MAX_AUDIO_FRAME) {
            throw new IllegalArgumentException("an Opus frame is 1.." + Connection.MAX_AUDIO_FRAME + " bytes");
        }
        byte[] frame = opusFrame.clone();
        long ts = rtpTimestamp & 0xffffffffL;
        runtime.execute(() -> {
            if (!runtime.isConnected()) {
                return;
            }
            byte[] payload = e2ee.sealOpus(frame, signaling.connectionId());
            if (payload != null) {
                transport.sendAudio(payload, ts);
            }
        });
    }

    /** See {@link Connection#sendScreenFrame}. */
    void sendScreenFrame(byte[] vp8Frame, long rtpTimestamp, boolean keyFrame) {
        if (!options.isScreenShare() || !role.sends()) {
            throw new IllegalStateException(
                    "no screen-share uplink: connect a sending role with Options.withScreenShare()");
        }
        if (!runtime.isConnected()) {
            throw new IllegalStateException("not connected");
        }
        byte[] frame = vp8Copy(vp8Frame);
        long ts = rtpTimestamp & 0xffffffffL;
        runtime.execute(() -> {
            if (!runtime.isConnected() || !transport.sendsScreen()) {
                return;
            }
            byte[] payload = e2ee.sealVp8(frame, keyFrame, signaling.connectionId());
            if (payload != null) {
                transport.sendScreen(payload, ts);
            }
        });
    }

    /** See {@link Connection#sendVideoFrame}. */
    void sendVideoFrame(int layer, byte[] vp8Frame, long rtpTimestamp, boolean keyFrame) {
        if (!options.isSimulcast() || !role.sends()) {
            throw new IllegalStateException("no camera uplink: connect a sending role with Options.withSimulcast()");
        }
        if (layer < 0 || layer >= SimulcastSender.LAYERS) {
            throw new IllegalArgumentException("layer must be 0.." + (SimulcastSender.LAYERS - 1));
        }
        if (!runtime.isConnected()) {
            throw new IllegalStateException("not connected");
        }
        byte[] frame = vp8Copy(vp8Frame);
        long ts = rtpTimestamp & 0xffffffffL;
        runtime.execute(() -> {
            SimulcastSender camera = transport.camera();
            if (!runtime.isConnected() || camera == null) {
                return;
            }
            // a layer the offer gave no stream (no simulcast, or fewer layers) is dropped
            int stream = camera.streamOf(layer);
            if (stream < 0) {
                return;
            }
            byte[] payload = e2ee.sealVp8(frame, keyFrame, signaling.connectionId());
            if (payload != null) {
                transport.sendCamera(stream, payload, ts);
            }
        });
    }

    /** A copy of a VP8 frame to send, checked for its size (the screen-share and the camera rule are the same). */
    private static byte[] vp8Copy(byte[] vp8Frame) {
        if (vp8Frame.length == 0 || vp8Frame.length > Connection.MAX_SCREEN_FRAME) {
            throw new IllegalArgumentException("a VP8 frame is 1.." + Connection.MAX_SCREEN_FRAME + " bytes");
        }
        return vp8Frame.clone();
    }

    /** See {@link Connection#setReceiveMaxHeight}. */
    void setReceiveMaxHeight(int maxHeight) {
        Receive r = Receive.all(maxHeight);
        if (!runtime.isConnected()) {
            throw new IllegalStateException("not connected");
        }
        runtime.execute(() -> {
            if (runtime.isConnected()) {
                signaling.send(r);
            }
        });
    }

    /** See {@link Connection#sendData(byte[], String)}. */
    CompletableFuture<Void> sendData(byte[] bytes, String to) {
        return sendDataOfKind(DataCrypto.KIND_BYTES, bytes.clone(), to);
    }

    /** See {@link Connection#sendData(String, String)}. */
    CompletableFuture<Void> sendData(String text, String to) {
        return sendDataOfKind(DataCrypto.KIND_TEXT, text.getBytes(StandardCharsets.UTF_8), to);
    }

    private CompletableFuture<Void> sendDataOfKind(byte kind, byte[] body, String to) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        if (body.length > Connection.MAX_DATA_BYTES) {
            f.completeExceptionally(new IllegalArgumentException("data message of " + body.length + " bytes exceeds "
                    + Connection.MAX_DATA_BYTES));
            return f;
        }
        runtime.execute(() -> {
            try {
                // unlike media, data may go out while ICE and DTLS are still under way: it needs only the offer
                ConnectionRuntime.State state = runtime.state();
                if (state != ConnectionRuntime.State.CONNECTED && state != ConnectionRuntime.State.CONNECTING
                        || signaling.connectionId() == null) {
                    throw new IllegalStateException("not connected");
                }
                byte[] payload = e2ee.sealData(to, kind, body);
                signaling.send(Data.send(to, Base64.getEncoder().encodeToString(payload)));
                f.complete(null);
            } catch (RuntimeException | FrameCryptoException e) {
                f.completeExceptionally(e);
            }
        });
        return f;
    }

    /** See {@link Connection#sendRawAudioPayloadForTesting}: no E2EE, to test that receivers fail closed. */
    void sendRawAudioPayloadForTesting(byte[] payload, long rtpTimestamp) {
        if (!runtime.isConnected()) {
            throw new IllegalStateException("not connected");
        }
        byte[] p = payload.clone();
        runtime.execute(() -> transport.sendRawAudioForTesting(p, rtpTimestamp));
    }
}
