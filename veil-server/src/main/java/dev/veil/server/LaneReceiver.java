package dev.veil.server;

import dev.veil.webrtc.ice.IceLiteAgent;
import dev.veil.webrtc.mux.Demux;
import dev.veil.webrtc.mux.PacketKind;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.unix.DatagramSocketAddress;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.internal.PlatformDependent;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The receive side of a {@link MediaLane}: the UDP channel's inbound handler, the in-place SRTP/SRTCP path of the
 * lane's own connections, demultiplexing of everything else (STUN, DTLS, held ClientHellos, unknown senders) and the
 * hand-off of another lane's datagrams to that lane's {@link LaneInbox} (bounded by {@link MediaLane#MAX_INBOX}).
 * It also reads the lane's connected sockets ({@link PeerSocket}), which carry each connected client's datagrams
 * without an address. Everything here runs on the lane's loop.
 */
final class LaneReceiver extends ChannelInboundHandlerAdapter {
  private static final Logger LOG = LoggerFactory.getLogger(MediaLane.class);

  private final MediaLane lane;
  private final RtcMedia media;
  private final Stats stats;
  private final io.micrometer.core.instrument.Timer forwardingLatency;
  /**
   * The lane's receive buffer (loop thread only): each datagram is copied here out of Netty's buffer, and this lane's
   * SRTP/SRTCP is decrypted and routed from here before the next datagram is read into it. MAX_DATAGRAM + 1: a
   * datagram that fills it is dropped as too big before it is copied.
   */
  private final byte[] rxBuf = new byte[MediaLane.MAX_DATAGRAM + 1];
  /**
   * ClientHellos from not-yet-validated addresses, kept briefly for the ICE check just behind them
   * ({@code -Dveil.dtlsHoldMillis}, default 500; 0 turns holding off, for before/after measurements).
   */
  final DtlsHold dtlsHold = new DtlsHold(Long.getLong("veil.dtlsHoldMillis", 500));
  /** Datagrams at most read from one connected socket per loop turn (the rest wait for the next turn). */
  private static final int PEER_SOCKET_BUDGET = 64;
  /**
   * Native memory the connected sockets are read into (loop thread only; a system call needs an address), then
   * copied into {@link #rxBuf} as Netty's buffer is for the lane's socket.
   */
  private final ByteBuffer rxDirect = ByteBuffer.allocateDirect(MediaLane.MAX_DATAGRAM + 1);
  private final long rxDirectAddress = PlatformDependent.directBufferAddress(rxDirect);
  /** Datagrams received (touched only on the loop; reported as a counter). */
  long datagramsIn;
  /** Of those, datagrams read from the lane's connected sockets ({@code udp.datagrams_in_connected}). */
  long datagramsInConnected;
  /** Datagrams handed to the loop (picks the ones timed for the forwarding latency). */
  private long datagramsSeen;

  LaneReceiver(MediaLane lane, RtcMedia media, Stats stats) {
    this.lane = lane;
    this.media = media;
    this.stats = stats;
    this.forwardingLatency = stats.metrics.forwarding;
  }

  /** The UDP channel's read; Netty calls it on the loop thread. */
  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    try {
      if (!(msg instanceof DatagramPacket packet)) {
        return;
      }
      datagramsIn++;
      ByteBuf content = packet.content();
      int n = content.readableBytes();
      if (n > MediaLane.MAX_DATAGRAM || n == 0) {
        stats.inc("udp.dropped.size");
        return;
      }
      content.getBytes(content.readerIndex(), rxBuf, 0, n);
      received(n, packet.sender());
    } catch (RuntimeException e) {
      // One bad datagram must never take the loop down (nor count as a socket error).
      LOG.error("datagram handling failed on the event loop", e);
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    // Writes use the channel's void promise (no promise per datagram), so a failed send lands here too; Netty's
    // native errors name the call ("sendmmsg(..) failed: ..."). Either costs the datagram only.
    String m = String.valueOf(cause.getMessage());
    if (m.startsWith("send")) {
      lane.sender().onSendError();
    } else {
      stats.inc("udp.receive_errors");
    }
    LOG.debug("udp: {}", cause.toString());
  }

  /**
   * Reads what {@code s} (a connected socket of this lane, readable) holds, at most {@link #PEER_SOCKET_BUDGET}
   * datagrams: each without its sender's address (it can only be the socket's client) into {@link #rxBuf} and on
   * as if the lane's socket had received it. Nothing is allocated per datagram. In the socket's first moments the
   * sender's address is read too, and a datagram of another sender is handled as that sender's.
   */
  void readPeerSocket(PeerSocket s) {
    boolean addressed = lane.loop().nowNanos() - s.addressedUntilNanos < 0;
    for (int i = 0; i < PEER_SOCKET_BUDGET && !s.isClosed(); i++) {
      InetSocketAddress from = s.remote;
      int n;
      try {
        if (addressed) {
          DatagramSocketAddress a = s.socket.recvFromAddress(rxDirectAddress, 0, rxDirect.capacity());
          if (a == null) {
            s.readOk();
            return; // nothing more to read
          }
          n = a.receivedAmount();
          if (!s.remote.equals(a)) {
            from = a;
          }
        } else {
          n = s.socket.recvAddress(rxDirectAddress, 0, rxDirect.capacity());
          if (n == 0) {
            s.readOk();
            return; // nothing more to read (-1: an empty datagram)
          }
        }
      } catch (IOException e) {
        // an ICMP error for a datagram sent to this client (port unreachable: it went away), reported by one read
        stats.inc("udp.peer_socket_errors");
        LOG.debug("udp: {}: {}", s, e.toString());
        if (s.failedRead()) {
          // errors and nothing else, read after read: not an ICMP report but a broken socket, which would make the
          // loop spin on it; its client's datagrams go back to the lanes' sockets
          s.close();
          stats.inc("udp.peer_socket_failed");
          LOG.warn("udp: closed {} after {} failed reads in a row: {}", s, PeerSocket.MAX_FAILED_READS, e.toString());
          return;
        }
        continue;
      }
      s.readOk();
      datagramsIn++;
      datagramsInConnected++;
      if (n > MediaLane.MAX_DATAGRAM || n <= 0) {
        stats.inc("udp.dropped.size");
        continue;
      }
      rxDirect.get(0, rxBuf, 0, n);
      try {
        received(n, from);
      } catch (RuntimeException e) {
        LOG.error("datagram handling failed on the event loop", e);
      }
    }
  }

  /**
   * A datagram of {@code n} bytes from {@code from}, read into {@link #rxBuf} by the lane's socket or a connected one:
   * handled in place ({@link #onReceived}), or with {@code -Dveil.receiveInPlace=false} from an array of its own.
   */
  private void received(int n, InetSocketAddress from) {
    // one datagram in FORWARD_SAMPLE_EVERY is timed to its last forwarded copy (held timer, no lookup), on the
    // lane that owns its connection (a hand-off's queue wait included)
    long t0 = (++datagramsSeen & Metrics.FORWARD_SAMPLE_MASK) != 0 ? 0 : System.nanoTime();
    if (MediaLane.IN_PLACE) {
      onReceived(n, from, t0);
    } else {
      onDatagram(Arrays.copyOf(rxBuf, n), from, t0);
    }
  }

  /** A connected socket could not join the loop's epoll set: its client's datagrams stay on the lane's socket. */
  void peerSocketFailed(Throwable cause) {
    stats.inc("udp.peer_socket_failed");
    LOG.debug("udp: connected socket not registered: {}", String.valueOf(cause));
  }

  /**
   * A datagram of {@code n} bytes now in {@link #rxBuf}. SRTP and SRTCP of this lane's own connections are decrypted
   * and routed where they are (the receive path's one copy is the socket read into the buffer, and nothing is
   * allocated for them); everything else (STUN, DTLS, media of another lane's connection, unknown senders) gets its
   * own array, since it may be held, queued for a DTLS worker or handed to another loop.
   */
  private void onReceived(int n, InetSocketAddress from, long t0) {
    byte[] buf = rxBuf;
    if (isSrtpOrSrtcp(buf, n)) {
      RtcPeer p = media.peerAt(from);
      if (p != null) {
        if (p.media == lane) {
          receiveInPlace(p, buf, n, from, t0);
        } else {
          handOff(p, buf, n, from, t0); // copied into a parcel of the owner's inbox, decrypted in place there
        }
        return;
      }
    }
    onDatagram(Arrays.copyOf(buf, n), from, t0);
  }

  /** True if {@code buf[0, n)} is RTP or RTCP (RFC 7983's first byte 128..191), as Demux.classify tells them. */
  private static boolean isSrtpOrSrtcp(byte[] buf, int n) {
    int b0 = buf[0] & 0xFF;
    return n >= 2 && b0 >= 128 && b0 <= 191;
  }

  /**
   * Decrypts and routes SRTP or SRTCP (RTCP packet types 192..223 in the second byte) of {@code p}, a connection of
   * this lane, in {@code buf[0, n)}, which is reused once this returns; a sampled one ({@code t0} not 0) is timed if
   * it was forwarded.
   */
  private void receiveInPlace(RtcPeer p, byte[] buf, int n, InetSocketAddress from, long t0) {
    int b1 = buf[1] & 0xFF;
    boolean rtcp = b1 >= 192 && b1 <= 223;
    if (t0 == 0) {
      p.receiveMediaInPlace(rtcp, buf, n, from);
      return;
    }
    long before = lane.rtpForwarded;
    p.receiveMediaInPlace(rtcp, buf, n, from);
    if (lane.rtpForwarded != before) {
      forwardingLatency.record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
    }
  }

  /** As {@link MediaLane#onDatagram}; {@code t0} (nanoTime, 0 = not sampled) times its forwarding. */
  void onDatagram(byte[] data, InetSocketAddress from, long t0) {
    PacketKind kind = Demux.classify(data);
    if (kind == PacketKind.UNKNOWN) {
      stats.inc("udp.dropped.unknown_kind");
      return;
    }
    RtcPeer p = media.peerAt(from);
    if (p == null) {
      if (kind != PacketKind.STUN) {
        if (kind == PacketKind.DTLS && dtlsHold.hold(data, from, lane.nowMillis())) {
          stats.inc("udp.dtls_held"); // a ClientHello whose ICE check may be just behind it
          return;
        }
        stats.inc("udp.dropped.unknown_source." + kind.name().toLowerCase());
        return;
      }
      Optional<String> ufrag = IceLiteAgent.localUfragOf(data, 0, data.length);
      if (ufrag.isEmpty()) {
        stats.inc("udp.dropped.stun_malformed");
        return;
      }
      p = media.peerByUfrag(ufrag.get());
      if (p == null) {
        stats.inc("udp.dropped.unknown_ufrag");
        return;
      }
    }
    if (p.media == lane) {
      handleTimed(p, data, from, t0);
    } else {
      handOff(p, data, data.length, from, t0);
    }
  }

  /** Hands {@code data} to its connection (on this lane's loop); a sampled one is timed if it was forwarded. */
  private void handleTimed(RtcPeer p, byte[] data, InetSocketAddress from, long t0) {
    if (t0 == 0) {
      p.handleDatagram(data, from);
      return;
    }
    long before = lane.rtpForwarded;
    p.handleDatagram(data, from);
    if (lane.rtpForwarded != before) {
      forwardingLatency.record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
    }
  }

  /**
   * A datagram of {@code p} (a connection of its lane, not this one) that this lane's socket received: copied into a
   * parcel of the owner's inbox (nothing allocated), or dropped and counted if the owner is that far behind.
   */
  private void handOff(RtcPeer p, byte[] data, int n, InetSocketAddress from, long t0) {
    LaneInbox to = p.media.inbox();
    LaneInbox.Parcel x = to.take();
    x.fill(data, 0, n);
    x.send = false;
    x.peer = p;
    x.addr = from;
    x.t0 = t0;
    stats.inc("udp.handed_off"); // before the owner can handle it (a reader that saw its effect sees the count)
    if (!to.offer(x)) {
      stats.add("udp.handed_off", -1);
      stats.inc("udp.handoff_dropped");
    }
  }

  /**
   * On this lane's loop: a datagram of one of its connections that another lane's socket received. SRTP and SRTCP
   * from the connection's validated address are decrypted and routed in the parcel (reused once this returns), as
   * if this lane's socket had received them; STUN and DTLS get their own array (they may be held or queued).
   */
  void handedOff(LaneInbox.Parcel x) {
    RtcPeer p = x.peer;
    if (lane.isClosed() || p.isClosed()) {
      return;
    }
    if (MediaLane.IN_PLACE && isSrtpOrSrtcp(x.buf, x.len) && media.peerAt(x.addr) == p) {
      receiveInPlace(p, x.buf, x.len, x.addr, x.t0);
      return;
    }
    handleTimed(p, Arrays.copyOf(x.buf, x.len), x.addr, x.t0);
  }
}
