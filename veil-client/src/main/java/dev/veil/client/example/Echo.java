package dev.veil.client.example;

import dev.veil.client.Connection;
import dev.veil.client.E2eeEvent;
import dev.veil.client.Options;
import dev.veil.client.VeilClient;
import java.net.URI;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A Java participant that sends every Opus frame it receives back into the channel, for interop checks with the
 * browser SDK: a browser that joins the same channel hears its own voice (and every other member's) again, which
 * only works if the Java client decrypted the browser's SFrame frames and the browser decrypts the Java client's.
 *
 * <pre>
 * java -cp ... dev.veil.client.example.Echo ws://127.0.0.1:5000/signaling my-room [--plain] [--device-key FILE]
 *     [--passphrase P] [--mls | --sender-keys] [--mls-external-sender] [--screen FILE.ivf] [--max-height N]
 *     [--without-congestion-feedback]
 * mvn -q -pl veil-client exec:java -Dexec.mainClass=dev.veil.client.example.Echo \
 *     -Dexec.args="ws://127.0.0.1:5000/signaling my-room"
 * </pre>
 *
 * It prints its connection id and fingerprint, every change of the room verification code (compare it with the
 * one the browser shows) and E2EE errors, and runs until Ctrl-C or until the server ends the connection. With
 * {@code --device-key FILE} a persistent device key (created owner-only if missing) certifies the connection; it
 * prints its device fingerprint and those of the members whose device certificates verified. With
 * {@code --screen FILE.ivf} it also shares a screen: the VP8 frames of the IVF file, looped at 15 frames a second,
 * on its screen-share track (SFrame-encrypted with E2EE). It runs the SDK's default key mode ({@link Options#e2ee()}:
 * MLS, or sender keys with {@code --passphrase}); {@code --mls} or {@code --sender-keys} name the mode explicitly.
 * In the MLS key mode it prints {@code mls epoch E members ID,ID,... code: CODE} for every epoch it enters;
 * {@code --mls-external-sender} makes a group it founds name the server as external sender (docs/PROTOCOL.md §4.8).
 * With {@code --max-height N} it asks the server for received video at most N pixels high
 * ({@link Connection#setReceiveMaxHeight}), and a line {@code max-height N} on its standard input changes that (0: no
 * limit). It prints {@code video key WxH from ID} for every received video key frame (the size its VP8 header
 * announces) and {@code receive stats ...} (its {@link dev.veil.client.ReceiveStats} total) every two seconds while
 * video comes; with {@code --without-congestion-feedback} the server picks the layer from the limit alone, not from
 * its downlink estimate.
 */
public final class Echo {
    private Echo() {}

    /**
     * Joins {@code channel} and echoes: every received Opus frame is sent again as this connection's own frame
     * (re-encrypted under its own key with E2EE), with its own RTP timestamps (+960 per frame, 20 ms at 48 kHz).
     */
    public static Connection start(URI signalingUrl, String channel, Options options) {
        Connection c = VeilClient.connection(signalingUrl).sendrecv(channel, null, options);
        AtomicLong timestamp = new AtomicLong(0);
        c.onAudioFrame((sender, frame) -> {
            if (c.isConnected()) {
                c.sendAudioFrame(frame, timestamp.addAndGet(960));
            }
        });
        return c;
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: Echo ws://HOST:PORT/signaling CHANNEL [--plain] [--device-key FILE]"
                    + " [--passphrase P] [--mls | --sender-keys] [--screen FILE.ivf] [--max-height N]"
                    + " [--without-congestion-feedback]");
            System.exit(2);
        }
        boolean plain = false;
        java.nio.file.Path deviceKey = null;
        String passphrase = null;
        String keyMode = null; // the SDK's default
        boolean externalSender = false;
        java.nio.file.Path screen = null;
        int maxHeight = -1;
        boolean noFeedback = false;
        for (int i = 2; i < args.length; i++) {
            if (args[i].equals("--plain")) {
                plain = true;
            } else if (args[i].equals("--mls") || args[i].equals("--sender-keys")) {
                String mode = args[i].equals("--mls") ? "mls" : "sender-keys";
                if (keyMode != null && !keyMode.equals(mode)) {
                    System.err.println("--mls and --sender-keys exclude each other");
                    System.exit(2);
                }
                keyMode = mode;
            } else if (args[i].equals("--mls-external-sender")) {
                externalSender = true;
            } else if (args[i].equals("--passphrase") && i + 1 < args.length) {
                passphrase = args[++i];
            } else if (args[i].equals("--screen") && i + 1 < args.length) {
                screen = java.nio.file.Path.of(args[++i]);
            } else if (args[i].equals("--without-congestion-feedback")) {
                noFeedback = true;
            } else if (args[i].equals("--max-height") && i + 1 < args.length) {
                maxHeight = Integer.parseInt(args[++i]);
            } else if (args[i].equals("--device-key") && i + 1 < args.length) {
                deviceKey = java.nio.file.Path.of(args[++i]);
            } else {
                System.err.println("unknown argument " + args[i]);
                System.exit(2);
            }
        }
        // generous: the interop tests run it on a loaded machine next to browsers and servers
        Options options = (plain ? Options.plain() : keyMode != null ? Options.e2ee().withKeyMode(keyMode)
                : Options.e2ee()).withConnectTimeoutMillis(45_000);
        if (noFeedback) {
            options = options.withoutCongestionFeedback();
        }
        if (externalSender) {
            options = options.withMlsExternalSender(true);
        }
        if (deviceKey != null && !plain) {
            options = options.withDeviceKeyFile(deviceKey);
        }
        if (passphrase != null && !plain) {
            options = options.withPassphrase(passphrase);
        }
        java.util.List<byte[]> screenFrames = screen == null ? null : ivfFrames(java.nio.file.Files.readAllBytes(screen));
        if (screenFrames != null) {
            options = options.withScreenShare();
        }
        Connection c = start(URI.create(args[0]), args[1], options);
        printVideo(c);
        CountDownLatch ended = new CountDownLatch(1);
        c.onE2ee(ev -> {
            if (ev instanceof E2eeEvent.MlsEpoch me) {
                System.out.println("mls epoch " + me.epoch() + " members " + String.join(",", me.members())
                        + " code: " + me.verificationCode());
            } else if (ev instanceof E2eeEvent.VerificationCodeChanged v) {
                System.out.println("verification code: " + v.code());
            } else if (ev instanceof E2eeEvent.Fingerprints f) {
                f.remote().forEach((id, fp) -> System.out.println("member " + id + " fingerprint " + fp));
            } else if (ev instanceof E2eeEvent.DeviceCertified d) {
                System.out.println("member " + d.connectionId() + " device " + d.deviceFingerprint());
            } else if (ev instanceof E2eeEvent.Error e) {
                System.out.println("e2ee " + e.source() + " error from " + e.from() + ": " + e.reason()
                        + (e.suppressed() > 0 ? " (+" + e.suppressed() + " more)" : ""));
            }
        }).onData(m -> {
            // a data message (decrypted with E2EE): print it and send it back to its sender only
            System.out.println("data from " + m.from() + (m.to() != null ? " (direct)" : "") + ": "
                    + (m.isText() ? m.text() : m.bytes().length + " bytes"));
            if (m.isText()) {
                c.sendData("echo: " + m.text(), m.from());
            } else {
                c.sendData(m.bytes(), m.from());
            }
        }).onNotify(n -> System.out.println(n.eventType().wire() + " " + n.connectionId()))
                .onDisconnect(reason -> {
                    System.out.println("disconnected: " + reason);
                    ended.countDown();
                });
        Runtime.getRuntime().addShutdownHook(new Thread(c::close));
        try {
            c.connect().get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            System.err.println("connect failed: " + (e.getCause() != null ? e.getCause().getMessage() : e));
            System.exit(1);
        }
        System.out.println("connected: " + c.connectionId() + (plain ? " (plain)"
                : " fingerprint " + c.e2eeSelfFingerprint()));
        if (c.e2eeDeviceFingerprint() != null) {
            System.out.println("device fingerprint " + c.e2eeDeviceFingerprint());
        }
        if (screenFrames != null) {
            shareScreen(c, screenFrames);
        }
        if (maxHeight >= 0) {
            c.setReceiveMaxHeight(maxHeight);
            readCommands(c);
        }
        ended.await();
    }

    /** Prints each received video key frame's size, and the receive stats at most every two seconds. */
    private static void printVideo(Connection c) {
        AtomicLong lastStats = new AtomicLong(System.nanoTime());
        c.addListener(new Connection.Listener() {
            @Override
            public void onVideoFrame(dev.veil.client.VideoFrame f) {
                byte[] b = f.frame();
                if (f.keyFrame() && b.length >= 10 && (b[3] & 0xff) == 0x9d && b[4] == 0x01 && b[5] == 0x2a) {
                    int w = ((b[6] & 0xff) | (b[7] & 0xff) << 8) & 0x3fff; // RFC 6386 §9.1
                    int h = ((b[8] & 0xff) | (b[9] & 0xff) << 8) & 0x3fff;
                    System.out.println("video key " + w + "x" + h + " from " + f.senderConnectionId());
                }
                long now = System.nanoTime();
                long last = lastStats.get();
                if (now - last > 2_000_000_000L && lastStats.compareAndSet(last, now)) {
                    System.out.println("receive stats " + c.receiveStats().total());
                }
            }
        });
    }

    /** Reads "max-height N" lines from standard input (a daemon thread; ends at its end). */
    private static void readCommands(Connection c) {
        Thread t = new Thread(() -> {
            try (java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(System.in,
                    java.nio.charset.StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    String[] w = line.trim().split("\\s+");
                    if (w.length == 2 && w[0].equals("max-height") && c.isConnected()) {
                        c.setReceiveMaxHeight(Integer.parseInt(w[1]));
                        System.out.println("max-height set to " + w[1]);
                    }
                }
            } catch (java.io.IOException | RuntimeException e) {
                System.err.println("commands: " + e);
            }
        }, "veil-echo-commands");
        t.setDaemon(true);
        t.start();
    }

    /** The VP8 frames of an IVF file (32-byte file header, then per frame a 12-byte header: size LE32, pts). */
    static java.util.List<byte[]> ivfFrames(byte[] ivf) {
        if (ivf.length < 32 || ivf[0] != 'D' || ivf[1] != 'K' || ivf[2] != 'I' || ivf[3] != 'F') {
            throw new IllegalArgumentException("not an IVF file");
        }
        int at = (ivf[6] & 0xff) | (ivf[7] & 0xff) << 8;
        java.util.List<byte[]> out = new java.util.ArrayList<>();
        while (at + 12 <= ivf.length) {
            int size = (ivf[at] & 0xff) | (ivf[at + 1] & 0xff) << 8 | (ivf[at + 2] & 0xff) << 16 | (ivf[at + 3] & 0xff) << 24;
            if (size <= 0 || at + 12 + size > ivf.length) {
                throw new IllegalArgumentException("truncated IVF frame at " + at);
            }
            out.add(java.util.Arrays.copyOfRange(ivf, at + 12, at + 12 + size));
            at += 12 + size;
        }
        return out;
    }

    /** Sends `frames` on the screen-share track, looped, 15 a second, on a daemon thread. */
    private static void shareScreen(Connection c, java.util.List<byte[]> frames) {
        Thread t = new Thread(() -> {
            long ts = 0;
            for (int i = 0; c.isConnected(); i = (i + 1) % frames.size()) {
                byte[] f = frames.get(i);
                c.sendScreenFrame(f, ts, (f[0] & 1) == 0); // P bit clear: a key frame (RFC 6386 section 9.1)
                ts += 90_000 / 15;
                try {
                    Thread.sleep(1000 / 15);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "veil-echo-screen");
        t.setDaemon(true);
        t.start();
        System.out.println("sharing screen: " + frames.size() + " VP8 frames");
    }
}
