package dev.veil.client;

import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.LongSupplier;

/**
 * The one thread of a {@link Connection}: it owns the connection's UDP socket (a non-blocking
 * {@link DatagramChannel} on a {@link Selector}) and runs, in order, every datagram that arrives, every task other
 * threads {@link #execute submit} (signaling messages from the WebSocket, API calls, the DTLS worker's wake-ups) and
 * the handler's timers. Everything a connection does with its engines happens here, so none of them needs a lock.
 */
final class EventLoop {
    /** What the loop drives. All methods are called on the loop thread. */
    interface Handler {
        void onDatagram(byte[] datagram, SocketAddress from, long now);

        /** After every wake-up (datagrams, tasks or a deadline): poll engines, fire due timers. */
        void onWake(long now);

        /** The next monotonic time {@link #onWake} must run, or {@link Long#MAX_VALUE}. */
        long nextDeadline();

        /** A task or handler method threw: the connection must end. */
        void onFailure(Throwable t);
    }

    /** The longest the loop sleeps, so that an injected clock that jumps is noticed. */
    private static final long MAX_WAIT_MILLIS = 250;

    private final DatagramChannel channel;
    private final Selector selector;
    private final LongSupplier clock;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private final ByteBuffer buffer = ByteBuffer.allocate(65_536);
    private volatile boolean stopped;
    private Handler handler;

    EventLoop(String name, DatagramChannel channel, LongSupplier clock) throws IOException {
        this.channel = channel;
        this.clock = clock;
        this.selector = Selector.open();
        channel.configureBlocking(false);
        channel.register(selector, SelectionKey.OP_READ);
        this.thread = new Thread(this::run, name);
        this.thread.setDaemon(true);
    }

    void start(Handler h) {
        this.handler = h;
        thread.start();
    }

    boolean inLoop() {
        return Thread.currentThread() == thread;
    }

    /** Runs {@code task} on the loop thread (in submission order). Ignored once stopped. */
    void execute(Runnable task) {
        if (stopped) {
            return;
        }
        tasks.add(task);
        selector.wakeup();
    }

    /** Makes the loop run {@link Handler#onWake} soon. Any thread. */
    void wakeup() {
        selector.wakeup();
    }

    /** Sends a datagram (loop thread). */
    void send(byte[] datagram, SocketAddress to) throws IOException {
        channel.send(ByteBuffer.wrap(datagram), to);
    }

    /** Ends the loop after the current iteration; the socket is closed by the loop thread. */
    void stop() {
        stopped = true;
        selector.wakeup();
    }

    /** Waits for the loop thread to end (not from the loop thread itself). */
    void join(long millis) throws InterruptedException {
        if (!inLoop()) {
            thread.join(millis);
        }
    }

    private void run() {
        try {
            while (!stopped) {
                long now = clock.getAsLong();
                long deadline = handler.nextDeadline();
                long wait = deadline == Long.MAX_VALUE ? MAX_WAIT_MILLIS
                        : Math.max(1, Math.min(MAX_WAIT_MILLIS, deadline - now));
                if (tasks.isEmpty()) {
                    selector.select(wait);
                } else {
                    selector.selectNow();
                }
                selector.selectedKeys().clear();
                try {
                    for (int i = 0; i < 256 && !stopped; i++) {
                        buffer.clear();
                        SocketAddress from = channel.receive(buffer);
                        if (from == null) {
                            break;
                        }
                        buffer.flip();
                        byte[] d = new byte[buffer.remaining()];
                        buffer.get(d);
                        handler.onDatagram(d, from, clock.getAsLong());
                    }
                    for (Runnable r; !stopped && (r = tasks.poll()) != null; ) {
                        r.run();
                    }
                    if (!stopped) {
                        handler.onWake(clock.getAsLong());
                    }
                } catch (IOException e) {
                    // a UDP send or receive error (e.g. ICMP port unreachable) is not fatal by itself
                } catch (RuntimeException | Error e) {
                    handler.onFailure(e);
                }
            }
        } catch (IOException e) {
            handler.onFailure(e);
        } finally {
            stopped = true;
            tasks.clear();
            try {
                selector.close();
            } catch (IOException ignored) {
                // closing
            }
            try {
                channel.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }
}
