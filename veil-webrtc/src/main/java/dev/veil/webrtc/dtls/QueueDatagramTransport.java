package dev.veil.webrtc.dtls;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.bouncycastle.tls.DatagramTransport;

/**
 * The in-memory {@link DatagramTransport} that BouncyCastle's blocking DTLS protocol classes read and write.
 *
 * <p>Two modes:
 * <ul>
 *   <li><b>Handshake</b> (the worker thread): {@link #receive} blocks until the caller {@link #offer}s a datagram,
 *       BouncyCastle's wait elapses (it then retransmits its last flight), or the transport is closed.</li>
 *   <li><b>Established</b> (the caller's thread, after {@link #switchToNonBlocking()}): {@link #receive} never
 *       blocks; with nothing queued it throws {@link WouldBlock}, which BouncyCastle passes through without
 *       failing the connection, so one {@code DTLSTransport.receive} call drains what is queued and returns.</li>
 * </ul>
 * Everything BouncyCastle sends is queued for the caller to collect with {@link #pollOutput()}.
 */
final class QueueDatagramTransport implements DatagramTransport {
    /** Thrown by a non-blocking receive with nothing queued. */
    static final class WouldBlock extends InterruptedIOException {
        private static final long serialVersionUID = 1L;

        WouldBlock() {
            super("no datagram queued");
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }

    private final int mtu;
    private final Runnable wakeup;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<byte[]> inbound = new ArrayDeque<>();
    private final ConcurrentLinkedQueue<byte[]> outbound = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean outputSinceWakeup = new AtomicBoolean();
    private boolean closed;
    private boolean nonBlocking;
    private boolean workerStarted;
    private boolean workerWaiting;
    private boolean workerDone;

    QueueDatagramTransport(int mtu, Runnable wakeup) {
        this.mtu = mtu;
        this.wakeup = wakeup;
    }

    @Override
    public int getReceiveLimit() {
        return DtlsConfig.MAX_DATAGRAM;
    }

    @Override
    public int getSendLimit() {
        return mtu;
    }

    /** Queues a datagram from the peer. False if the transport is closed. */
    boolean offer(byte[] datagram) {
        lock.lock();
        try {
            if (closed) {
                return false;
            }
            inbound.add(datagram);
            changed.signalAll();
            return true;
        } finally {
            lock.unlock();
        }
    }

    boolean hasInbound() {
        lock.lock();
        try {
            return !inbound.isEmpty();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public int receive(byte[] buf, int off, int len, int waitMillis) throws IOException {
        if (outputSinceWakeup.getAndSet(false)) {
            wakeup.run(); // a flight was produced: tell the caller before waiting for the answer
        }
        lock.lock();
        try {
            if (nonBlocking) {
                byte[] d = inbound.poll();
                if (d == null) {
                    throw new WouldBlock();
                }
                return copy(d, buf, off, len);
            }
            long remaining = TimeUnit.MILLISECONDS.toNanos(Math.max(1, waitMillis));
            while (inbound.isEmpty() && !closed) {
                if (remaining <= 0) {
                    return -1;
                }
                workerWaiting = true;
                changed.signalAll();
                try {
                    remaining = changed.awaitNanos(remaining);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("DTLS worker interrupted");
                } finally {
                    workerWaiting = false;
                }
            }
            if (closed) {
                throw new IOException("DTLS transport closed");
            }
            return copy(inbound.poll(), buf, off, len);
        } finally {
            lock.unlock();
        }
    }

    private static int copy(byte[] d, byte[] buf, int off, int len) {
        int n = Math.min(len, d.length);
        System.arraycopy(d, 0, buf, off, n);
        return n;
    }

    @Override
    public void send(byte[] buf, int off, int len) throws IOException {
        if (isClosed()) {
            return;
        }
        byte[] d = new byte[len];
        System.arraycopy(buf, off, d, 0, len);
        outbound.add(d);
        outputSinceWakeup.set(true);
    }

    /** The next datagram for the peer, or null. */
    byte[] pollOutput() {
        return outbound.poll();
    }

    boolean hasOutput() {
        return !outbound.isEmpty();
    }

    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    boolean isClosed() {
        lock.lock();
        try {
            return closed;
        } finally {
            lock.unlock();
        }
    }

    void switchToNonBlocking() {
        lock.lock();
        try {
            nonBlocking = true;
        } finally {
            lock.unlock();
        }
    }

    void workerStarted() {
        lock.lock();
        try {
            workerStarted = true;
        } finally {
            lock.unlock();
        }
    }

    void workerDone() {
        lock.lock();
        try {
            workerDone = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        outputSinceWakeup.set(false);
        wakeup.run();
    }

    /**
     * Blocks until the worker has consumed every queued datagram and waits for more, or has ended, or was never
     * started.
     */
    void awaitIdle() throws InterruptedException {
        lock.lock();
        try {
            while (workerStarted && !workerDone && !(workerWaiting && inbound.isEmpty())) {
                changed.await();
            }
        } finally {
            lock.unlock();
        }
    }
}
