package dev.veil.server.cluster.relay;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The I/O shell of one {@link RelayLink}: a UDP socket on the node's relay address, one reader thread and one link
 * thread (the only one touching the engine; it sleeps until the next task or the link's next timeout). Datagrams
 * from any address but the configured peer node's are dropped before the engine sees them; everything queued
 * between the threads is bounded ({@link #QUEUE}; a full queue drops and counts).
 */
public final class RelayTransport implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RelayTransport.class);
  /** Tasks (datagrams in, packets out) waiting for the link thread at most. */
  public static final int QUEUE = 4096;

  /** What the link delivers, on the link thread. */
  public interface Listener {
    /** A media packet from the peer node, byte-for-byte as its router got it. */
    void media(boolean rtcp, byte[] packet);

    /** A session with the peer node is up. */
    default void up() { }

    /** The session went down (the peer went silent). */
    default void down(String reason) { }
  }

  private final boolean initiator;
  private final byte[] secret;
  private final String local;
  private final String remote;
  private final Random random = new java.security.SecureRandom();
  /** Link thread only (replaced by a fresh engine on {@link #retarget}). */
  private RelayLink link;
  private final DatagramChannel socket;
  private volatile InetSocketAddress peer;
  private volatile boolean restart;
  private final Listener listener;
  private final BlockingQueue<Runnable> tasks = new ArrayBlockingQueue<>(QUEUE);
  private final Thread reader;
  private final Thread worker;
  private final AtomicLong foreign = new AtomicLong();
  private final AtomicLong queueDrops = new AtomicLong();
  private volatile RelayLink.Stats stats;
  private volatile boolean up;
  private volatile boolean closed;
  private volatile Consumer<byte[]> tap;

  private RelayTransport(boolean initiator, byte[] secret, String local, String remote, DatagramChannel socket,
      InetSocketAddress peer, Listener listener) {
    this.initiator = initiator;
    this.secret = secret.clone();
    this.local = local;
    this.remote = remote;
    this.link = engine(nowMillis());
    this.stats = link.stats();
    this.peer = peer;
    this.listener = listener;
    this.socket = socket;
    this.reader = new Thread(this::readLoop, "veil-relay-in-" + remote);
    this.worker = new Thread(this::linkLoop, "veil-relay-" + remote);
    reader.setDaemon(true);
    worker.setDaemon(true);
    reader.start();
    worker.start();
  }

  private RelayLink engine(long now) {
    return initiator ? RelayLink.initiator(secret, local, remote, RelayLink.Timings.defaults(), random, now)
        : RelayLink.responder(secret, local, remote, RelayLink.Timings.defaults(), random, now);
  }

  /**
   * The peer node made a new socket (its link restarted): from now on only {@code newPeer} is heard and sent to, by
   * a fresh engine (a new handshake), on this same socket, so this end's address does not change (any thread).
   */
  public void retarget(InetSocketAddress newPeer) {
    peer = newPeer;
    restart = true;
    tasks.offer(() -> { }); // wakes the link thread (a full queue wakes it anyway)
  }

  /** The address datagrams are accepted from and sent to. */
  public InetSocketAddress peer() {
    return peer;
  }

  /** A UDP socket bound to {@code address} (the node's relay address), for {@link #toOwner}/{@link #fromRelay}. */
  public static DatagramChannel bind(InetSocketAddress address) throws IOException {
    DatagramChannel c = DatagramChannel.open();
    try {
      c.bind(address);
    } catch (IOException e) {
      c.close();
      throw e;
    }
    return c;
  }

  /**
   * The relay node's end of the link to the channel's owner {@code ownerNode} at {@code ownerAddress}, on
   * {@code socket} (bound; this transport owns it from now on).
   */
  public static RelayTransport toOwner(byte[] secret, String localNode, String ownerNode, DatagramChannel socket,
      InetSocketAddress ownerAddress, Listener listener) {
    return new RelayTransport(true, secret, localNode, ownerNode, socket, ownerAddress, listener);
  }

  /** The owner's end of the link from relay node {@code relayNode} at {@code relayAddress}. */
  public static RelayTransport fromRelay(byte[] secret, String localNode, String relayNode, DatagramChannel socket,
      InetSocketAddress relayAddress, Listener listener) {
    return new RelayTransport(false, secret, localNode, relayNode, socket, relayAddress, listener);
  }

  private static long nowMillis() {
    return System.nanoTime() / 1_000_000;
  }

  public InetSocketAddress localAddress() throws IOException {
    return (InetSocketAddress) socket.getLocalAddress();
  }

  /** Whether a session with the peer node is up. */
  public boolean up() {
    return up;
  }

  /** The link's counters as of its last step, plus datagrams from foreign addresses and queue drops. */
  public RelayLink.Stats stats() {
    return stats;
  }

  public long foreignDatagrams() {
    return foreign.get();
  }

  public long queueDrops() {
    return queueDrops.get();
  }

  /** Sees every datagram this end sends (tests check what crosses the node link). */
  public void tap(Consumer<byte[]> wire) {
    this.tap = wire;
  }

  /** Relays a copy of {@code packet} to the peer node (from any thread); false if the queue was full. */
  public boolean send(boolean rtcp, byte[] packet, int off, int len) {
    byte[] copy = java.util.Arrays.copyOfRange(packet, off, off + len);
    return offer(() -> link.send(rtcp, copy, 0, copy.length, nowMillis()));
  }

  private boolean offer(Runnable r) {
    if (closed || !tasks.offer(r)) {
      queueDrops.incrementAndGet();
      return false;
    }
    return true;
  }

  private void readLoop() {
    ByteBuffer buf = ByteBuffer.allocate(RelayLink.MAX_DATAGRAM + 1); // one byte more: too long is seen as such
    while (!closed) {
      try {
        buf.clear();
        SocketAddress from = socket.receive(buf);
        if (!peer.equals(from)) {
          foreign.incrementAndGet();
          continue;
        }
        buf.flip();
        byte[] d = new byte[buf.remaining()];
        buf.get(d);
        offer(() -> link.input(d, 0, d.length, nowMillis()));
      } catch (ClosedChannelException e) {
        return;
      } catch (IOException e) {
        if (!closed) {
          LOG.warn("relay to {}: receive failed: {}", remote, e.toString());
        }
      }
    }
  }

  private void linkLoop() {
    while (!closed) {
      try {
        if (restart) {
          restart = false;
          link = engine(nowMillis()); // the old session's packets in the queue fail the new one's checks
          if (up) {
            up = false;
            listener.down("the peer node restarted its link");
          }
        }
        long now = nowMillis();
        long wait = Math.max(0, Math.min(link.nextTimeoutMillis() - now, 1000));
        Runnable r = tasks.poll(wait, TimeUnit.MILLISECONDS);
        if (r != null) {
          r.run();
          for (int i = 0; i < 64 && (r = tasks.poll()) != null; i++) {
            r.run();
          }
        }
        now = nowMillis();
        if (now >= link.nextTimeoutMillis()) {
          link.handleTimeout(now);
        }
        flush();
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        LOG.warn("relay to {}: {}", remote, e.toString()); // one bad step, never the thread
      }
    }
  }

  private void flush() {
    for (byte[] d; (d = link.pollOutput()) != null; ) {
      Consumer<byte[]> t = tap;
      if (t != null) {
        t.accept(d);
      }
      try {
        socket.send(ByteBuffer.wrap(d), peer);
      } catch (IOException e) {
        if (!closed) {
          LOG.debug("relay to {}: send failed: {}", remote, e.toString());
        }
      }
    }
    for (RelayEvent e; (e = link.pollEvent()) != null; ) {
      try {
        if (e instanceof RelayEvent.Media m) {
          listener.media(m.rtcp(), m.packet());
        } else if (e instanceof RelayEvent.Up) {
          up = true;
          listener.up();
        } else if (e instanceof RelayEvent.Down d) {
          up = false;
          listener.down(d.reason());
        }
      } catch (RuntimeException ex) {
        LOG.warn("relay to {}: listener failed: {}", remote, ex.toString());
      }
    }
    stats = link.stats();
  }

  @Override
  public void close() {
    closed = true;
    try {
      socket.close();
    } catch (IOException e) {
      // closing
    }
    worker.interrupt();
    try {
      reader.join(2000);
      worker.join(2000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
