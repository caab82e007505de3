package dev.veil.server;

import dev.veil.webrtc.ice.TcpFrameDecoder;
import dev.veil.webrtc.mux.Demux;
import dev.veil.webrtc.mux.PacketKind;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ICE-TCP (<a href="https://www.rfc-editor.org/rfc/rfc6544">RFC 6544</a>): the server's passive TCP host candidate,
 * for clients whose UDP is blocked. Each accepted connection carries RFC 4571 frames ({@link TcpFrameDecoder}); every
 * frame is one packet that the UDP port would have carried as a datagram (STUN, DTLS, SRTP, SRTCP) and goes the same
 * way: {@link Packets#onPacket} is the seam through which the UDP shell hands over its datagrams too.
 *
 * <p><b>Paths.</b> A connection is known to the media plane by its <em>path key</em>, an unresolved
 * {@link InetSocketAddress} ({@code tcp-<n>:<remote port>}) that can never equal a UDP source address; what the
 * transports send to such a key comes back here through {@link #send}, framed, on that connection.
 * {@link #remoteAddress} gives the connection's real remote address for STUN's XOR-MAPPED-ADDRESS.
 *
 * <p><b>Bounds and bad input.</b> A frame longer than the largest datagram ({@link #MAX_FRAME}) or empty, a frame that
 * is not STUN before the connection passed an ICE check, a frame of no known kind, or no passed check within
 * {@link #VALIDATE_MILLIS} closes that connection only. At most {@code maxConnections} connections at once (a new one
 * past it is closed at once) and {@link #MAX_PATHS_PER_PEER} validated ones per peer. Each connection's unwritten
 * output is bounded by its write-buffer high-water mark ({@link #WRITE_HIGH_BYTES}); a packet sent past it is dropped
 * and counted ({@code tcp.send_dropped}), as a full UDP socket buffer drops. Reads are copied in chunks of a fixed
 * scratch buffer, so no allocation depends on what a client claims.
 *
 * <p>Threading: the listening socket and every connection are registered on the {@link EventLoop}, so everything here
 * runs on the state thread, like the UDP shell.
 */
final class IceTcp {
  private static final Logger LOG = LoggerFactory.getLogger(IceTcp.class);
  /** The largest frame: the largest datagram the UDP port accepts. */
  static final int MAX_FRAME = 1500;
  /** A connection must pass an ICE check this soon after it is accepted. */
  static final long VALIDATE_MILLIS = 10_000;
  static final int MAX_PATHS_PER_PEER = 8;
  static final int WRITE_HIGH_BYTES = 1024 * 1024;
  static final int WRITE_LOW_BYTES = 512 * 1024;

  /** Where the packets of a connection go: the same place as the UDP port's datagrams. */
  interface Packets {
    /** One packet received on path {@code key} (STUN, DTLS, SRTP or SRTCP). */
    void onPacket(byte[] packet, InetSocketAddress key);

    /** Path {@code key} is gone (its connection closed): forget it. */
    void pathClosed(InetSocketAddress key);
  }

  /** One accepted connection. */
  private final class Conn extends ChannelInboundHandlerAdapter {
    final InetSocketAddress key;
    final InetSocketAddress remote;
    final TcpFrameDecoder decoder = new TcpFrameDecoder(MAX_FRAME);
    Channel channel;
    /** The peer whose ICE check this path passed (an opaque owner from the media plane), or null. */
    Object owner;
    EventLoop.Timer validateTimer;
    boolean flushPending;
    boolean closed;

    Conn(InetSocketAddress key, InetSocketAddress remote) {
      this.key = key;
      this.remote = remote;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      channel = ctx.channel();
      if (conns.size() >= maxConnections) {
        stats.inc("tcp.refused.limit");
        channel.close();
        closed = true;
        return;
      }
      conns.put(key, this);
      stats.inc("tcp.accepted");
      validateTimer = loop.schedule(TimeUnit.MILLISECONDS.toNanos(VALIDATE_MILLIS), () -> {
        validateTimer = null;
        if (owner == null) {
          close("tcp.closed.not_validated");
        }
      });
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      try {
        if (!closed && msg instanceof ByteBuf buf) {
          read(buf);
        }
      } catch (RuntimeException e) {
        LOG.error("ICE-TCP read failed", e);
        close("tcp.closed.error");
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }

    private void read(ByteBuf buf) {
      while (buf.isReadable() && !closed) {
        int n = Math.min(buf.readableBytes(), scratch.length);
        buf.readBytes(scratch, 0, n);
        for (int off = 0; off < n && !closed; ) {
          off += decoder.feed(scratch, off, n - off);
          byte[] frame = decoder.poll();
          if (frame != null) {
            onFrame(frame);
          }
          if (decoder.failed()) {
            LOG.debug("ICE-TCP {}: {}", remote, decoder.failure());
            close("tcp.closed.bad_framing");
          }
        }
      }
    }

    private void onFrame(byte[] frame) {
      stats.inc("tcp.frames_in");
      PacketKind kind = Demux.classify(frame);
      if (kind == PacketKind.UNKNOWN || (owner == null && kind != PacketKind.STUN)) {
        // garbage, or media/DTLS before any ICE check passed on this path: not a WebRTC client
        close(owner == null ? "tcp.closed.not_stun_first" : "tcp.closed.unknown_kind");
        return;
      }
      packets.onPacket(frame, key);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      close(null);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      LOG.debug("ICE-TCP {}: {}", remote, cause.toString());
      close("tcp.closed.error");
    }

    void close(String counter) {
      if (closed) {
        return;
      }
      closed = true;
      if (counter != null) {
        stats.inc(counter);
      }
      stats.inc("tcp.connections_closed");
      if (validateTimer != null) {
        validateTimer.cancel();
        validateTimer = null;
      }
      conns.remove(key);
      if (owner != null) {
        ArrayDeque<Conn> of = byOwner.get(owner);
        if (of != null) {
          of.remove(this);
          if (of.isEmpty()) {
            byOwner.remove(owner);
          }
        }
      }
      if (channel != null) {
        channel.close();
      }
      packets.pathClosed(key);
    }

    void send(byte[] packet) {
      if (closed || packet.length == 0 || packet.length > TcpFrameDecoder.MAX_FRAME_LIMIT) {
        stats.inc("tcp.send_dropped");
        return;
      }
      if (!channel.isWritable()) {
        stats.inc("tcp.send_dropped"); // the client does not read fast enough: drop, as a full UDP buffer does
        return;
      }
      channel.write(Unpooled.wrappedBuffer(TcpFrameDecoder.header(packet.length), packet));
      stats.inc("tcp.frames_out");
      if (!flushPending) {
        flushPending = true;
        loop.execute(() -> {
          flushPending = false;
          if (!closed) {
            channel.flush();
          }
        });
      }
    }
  }

  private final EventLoop loop;
  private final Stats stats;
  private final Packets packets;
  private final int maxConnections;
  private final Channel server;
  /** Concurrent: {@link #remoteAddress} is read by every media loop (the others only on this loop). */
  private final Map<InetSocketAddress, Conn> conns = new java.util.concurrent.ConcurrentHashMap<>();
  /** Validated connections per owner (a peer), oldest first. */
  private final Map<Object, ArrayDeque<Conn>> byOwner = new HashMap<>();
  private final byte[] scratch = new byte[16 * 1024];
  private long serial;

  /**
   * Binds the listening socket on {@code bindAddress:port} (0: ephemeral).
   *
   * @param maxConnections most connections at once
   */
  IceTcp(EventLoop loop, Stats stats, Packets packets, String bindAddress, int port, int maxConnections)
      throws IOException {
    this.loop = loop;
    this.stats = stats;
    this.packets = packets;
    this.maxConnections = maxConnections;
    ChannelFuture bound = loop.tcpServerBootstrap()
        .option(ChannelOption.SO_BACKLOG, 256)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
            new WriteBufferWaterMark(WRITE_LOW_BYTES, WRITE_HIGH_BYTES))
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            InetSocketAddress remote = (InetSocketAddress) ch.remoteAddress();
            InetSocketAddress key = InetSocketAddress.createUnresolved("tcp-" + (++serial), remote.getPort());
            ch.pipeline().addLast(new Conn(key, remote));
          }
        })
        .bind(new InetSocketAddress(bindAddress, port));
    try {
      bound.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      bound.channel().close();
      throw new IOException("interrupted while binding the ICE-TCP port", e);
    }
    if (!bound.isSuccess()) {
      bound.channel().close();
      throw new IOException("cannot bind ICE-TCP " + bindAddress + ":" + port + ": " + bound.cause().getMessage(),
          bound.cause());
    }
    this.server = bound.channel();
  }

  /** The bound TCP port. */
  int localPort() {
    InetSocketAddress a = (InetSocketAddress) server.localAddress();
    return a == null ? -1 : a.getPort();
  }

  /** Whether {@code key} names an ICE-TCP path (rather than a UDP source address). */
  static boolean isPath(InetSocketAddress key) {
    return key.isUnresolved();
  }

  /** The real remote address of path {@code key}, or null if it is gone. */
  InetSocketAddress remoteAddress(InetSocketAddress key) {
    Conn c = conns.get(key);
    return c == null ? null : c.remote;
  }

  /** Sends {@code packet} framed on path {@code key}; dropped (counted) if the connection is gone or backed up. */
  void send(byte[] packet, InetSocketAddress key) {
    Conn c = conns.get(key);
    if (c == null) {
      stats.inc("tcp.send_to_gone_path");
      return;
    }
    c.send(packet);
  }

  /**
   * Path {@code key} passed an ICE check of {@code owner}: it may now carry DTLS and media. Past
   * {@link #MAX_PATHS_PER_PEER} paths of one owner the oldest is closed.
   */
  void validated(InetSocketAddress key, Object owner) {
    Conn c = conns.get(key);
    if (c == null || c.owner == owner) {
      return;
    }
    if (c.owner != null) { // checks for another connection's ufrag on the same path: it moves to that one
      ArrayDeque<Conn> old = byOwner.get(c.owner);
      if (old != null) {
        old.remove(c);
        if (old.isEmpty()) {
          byOwner.remove(c.owner);
        }
      }
    }
    c.owner = owner;
    if (c.validateTimer != null) {
      c.validateTimer.cancel();
      c.validateTimer = null;
    }
    ArrayDeque<Conn> of = byOwner.computeIfAbsent(owner, o -> new ArrayDeque<>());
    of.add(c);
    stats.inc("tcp.validated");
    if (of.size() > MAX_PATHS_PER_PEER) {
      of.peekFirst().close("tcp.closed.too_many_paths");
    }
  }

  /** {@code owner} is gone: closes its connections. */
  void ownerClosed(Object owner) {
    ArrayDeque<Conn> of = byOwner.remove(owner);
    if (of != null) {
      for (Conn c : of.toArray(new Conn[0])) {
        c.owner = null; // (already removed from byOwner)
        c.close("tcp.closed.peer_gone");
      }
    }
  }

  /** Connections open now. */
  int connections() {
    return conns.size();
  }

  void close() {
    for (Conn c : conns.values().toArray(new Conn[0])) {
      c.close(null);
    }
    server.close();
  }
}
