package dev.veil.client.example;

import dev.veil.client.Connection;
import dev.veil.client.Options;
import dev.veil.client.VeilClient;
import java.net.URI;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Membership churn for soak tests (issue 7: a long-lived member must survive any number of joins and leaves):
 * {@code count} sendonly publishers join a channel one after another, each sends a short Opus stream and leaves;
 * the last one stays and keeps sending until the process is stopped (so a test can check that media still flows).
 *
 * <pre>
 * java -cp veil-client-all.jar dev.veil.client.example.Churn ws://127.0.0.1:5000/signaling my-room \
 *     [--count 500] [--frames 5] [--concurrency 1] [--e2ee [--key-mode mls|sender-keys]] [--seed 1]
 * </pre>
 *
 * It prints {@code joined I ID} and {@code left I ID} for every publisher, {@code last ID} once the last publisher is
 * connected, and {@code failed: REASON} (then exits 1) if a publisher cannot connect. The frames are Opus CELT frames
 * (TOC 0xf8: fullband, 20 ms, mono) with random payloads: they decode to noise, audible and non-silent.
 * {@code --concurrency K} runs K publishers side by side (each still joins, streams and leaves in turn).
 * {@code --e2ee} encrypts in the SDK's default key mode (MLS) unless {@code --key-mode} names one.
 */
public final class Churn {
    private Churn() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: Churn ws://HOST:PORT/signaling CHANNEL [--count N] [--frames F]"
                    + " [--concurrency K] [--e2ee] [--seed S]");
            System.exit(2);
        }
        URI url = URI.create(args[0]);
        String channel = args[1];
        int count = 500;
        int frames = 5;
        int concurrency = 1;
        boolean e2ee = false;
        String keyMode = null;
        long seed = 1;
        for (int i = 2; i < args.length; i++) {
            switch (args[i]) {
                case "--count" -> count = Integer.parseInt(args[++i]);
                case "--frames" -> frames = Integer.parseInt(args[++i]);
                case "--concurrency" -> concurrency = Integer.parseInt(args[++i]);
                case "--e2ee" -> e2ee = true;
                case "--key-mode" -> keyMode = args[++i];
                case "--seed" -> seed = Long.parseLong(args[++i]);
                default -> {
                    System.err.println("unknown argument " + args[i]);
                    System.exit(2);
                }
            }
        }
        if (count < 1 || frames < 1 || concurrency < 1) {
            System.err.println("count, frames and concurrency must be positive");
            System.exit(2);
        }
        if (keyMode != null && !e2ee) {
            System.err.println("--key-mode needs --e2ee");
            System.exit(2);
        }
        Options options;
        try {
            options = !e2ee ? Options.plain() : keyMode == null ? Options.e2ee() : Options.e2ee().withKeyMode(keyMode);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage()); // an unknown key mode is refused, never replaced
            System.exit(2);
            return;
        }
        AtomicInteger next = new AtomicInteger();
        int total = count;
        int perFrames = frames;
        long baseSeed = seed;
        Thread[] workers = new Thread[concurrency];
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
        for (int w = 0; w < concurrency; w++) {
            workers[w] = new Thread(() -> {
                for (int i; (i = next.getAndIncrement()) < total; ) {
                    try {
                        publish(url, channel, options, i, i == total - 1, perFrames, new Random(baseSeed + i), stop);
                    } catch (Exception e) {
                        System.out.println("failed: publisher " + i + ": "
                                + (e.getCause() != null ? e.getCause().getMessage() : e.toString()));
                        System.out.flush();
                        Runtime.getRuntime().halt(1);
                    }
                }
            }, "churn-" + w);
            workers[w].start();
        }
        for (Thread t : workers) {
            t.join();
        }
    }

    /** One publisher: joins, sends {@code frames} frames 20 ms apart, leaves (the last one streams until stopped). */
    private static void publish(URI url, String channel, Options options, int index, boolean last, int frames,
            Random random, CountDownLatch stop) throws Exception {
        Connection c = VeilClient.connection(url).sendonly(channel, null, options);
        c.connect().get(30, TimeUnit.SECONDS);
        System.out.println((last ? "last " : "joined " + index + " ") + c.connectionId());
        System.out.flush();
        long timestamp = random.nextInt(1 << 30);
        for (int n = 0; last || n < frames; n++) {
            if (!c.isConnected()) {
                throw new IllegalStateException("publisher " + index + " lost its connection");
            }
            c.sendAudioFrame(noiseFrame(random), timestamp);
            timestamp += 960;
            if (stop.await(20, TimeUnit.MILLISECONDS)) {
                break;
            }
        }
        c.disconnect().get(10, TimeUnit.SECONDS);
        if (!last) {
            System.out.println("left " + index + " " + c.connectionId());
            System.out.flush();
        }
    }

    /** An Opus CELT frame (TOC 0xf8: fullband, 20 ms, one frame) with a random payload: decodes to noise. */
    static byte[] noiseFrame(Random random) {
        byte[] f = new byte[80];
        random.nextBytes(f);
        f[0] = (byte) 0xf8;
        return f;
    }
}
