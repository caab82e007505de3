package dev.veil.server;

import io.netty.channel.IoEvent;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.Socket;
import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * A UDP socket connected to one client's selected address, on the lane of the client's connection, that only
 * receives (Linux epoll; on by default from Linux 5.4: {@link #ENABLED}).
 *
 * <p>It is bound to the media port with SO_REUSEPORT like the lanes' own sockets, then {@code connect}ed to the
 * client's address. For a datagram, Linux picks the socket whose bound and connected addresses match it best
 * (a connected socket that matches the whole 4-tuple scores above the unconnected ones, also when they share a
 * SO_REUSEPORT group, and the group's hashing never picks a connected socket), so every datagram of this client
 * then lands here, on its own lane: no hand-off between lanes, whatever socket the 4-tuple hashes to. And since
 * the sender is known, it is read without an address ({@code recv}) straight into the lane's receive buffer: no
 * {@code DatagramPacket}, no {@code InetSocketAddress}, no buffer slice; nothing is allocated per datagram.
 *
 * <p>Sends still leave through the lane's socket (one {@code sendmmsg} carries datagrams to many clients; this
 * socket would need a system call of its own). The source address is the same: the port is shared.
 *
 * <p>Between {@code bind} and {@code connect} the socket is briefly an unconnected member of the port's group and
 * the kernel may give it another client's datagram. So for its first {@link #ADDRESSED_NANOS} it reads with the
 * sender's address, and a datagram from anyone else is handled as from its real sender (as the lane's socket
 * would have); after that only this client's 4-tuple reaches it.
 *
 * <p>Everything here runs on the lane's loop. The lane opens one per connection once it is connected, replaces it
 * when the client moves to another address, and closes it with the connection.
 */
final class PeerSocket implements EpollIoHandle {
  /** The major and minor version at the start of a Linux kernel release ({@code os.version}: "6.1.0-18-amd64"). */
  private static final java.util.regex.Pattern KERNEL_RELEASE =
      java.util.regex.Pattern.compile("^(\\d{1,4})\\.(\\d{1,4})");
  /**
   * Connected receive sockets ({@code -Dveil.connectedReceive}: default on with Linux 5.4 or later; false: the lanes'
   * sockets only; true: on whatever the kernel). A kernel without commit acdcecc61285 ("udp: correct reuseport
   * selection with connected sockets", September 2019; in 5.4, the gate here) could let the SO_REUSEPORT group's
   * hashing pick a connected socket for another client's datagram, which this socket would take for its client's.
   */
  static final boolean ENABLED =
      enabled(System.getProperty("veil.connectedReceive"), System.getProperty("os.version"));
  /** How long a new socket reads with the sender's address (see the class comment). */
  static final long ADDRESSED_NANOS = 200_000_000L;
  /** Failed reads in a row after which the socket is taken for broken and closed. */
  static final int MAX_FAILED_READS = 32;
  /** Receive buffer asked for (a publisher's key frame burst; the kernel caps it at net.core.rmem_max). */
  private static final int RCVBUF = 1024 * 1024;

  /** The connection whose datagrams this socket receives. */
  final RtcPeer peer;
  /** The client's address this socket is connected to (its connection's selected address). */
  final InetSocketAddress remote;
  final Socket socket;
  /** Loop time until which reads take the sender's address. */
  final long addressedUntilNanos;
  private final LaneReceiver receiver;
  private IoRegistration registration;
  private boolean closed;
  private int failedReads;

  private PeerSocket(RtcPeer peer, InetSocketAddress remote, Socket socket, LaneReceiver receiver, long nowNanos) {
    this.peer = peer;
    this.remote = remote;
    this.socket = socket;
    this.receiver = receiver;
    this.addressedUntilNanos = nowNanos + ADDRESSED_NANOS;
  }

  /**
   * Opens a socket on {@code local} (the lanes' bound address and port) connected to {@code remote} and registers
   * it with {@code loop}'s epoll set (call on that loop). Fails if the socket cannot be made, bound or connected.
   */
  static PeerSocket open(EventLoop loop, LaneReceiver receiver, RtcPeer peer, InetSocketAddress local,
      InetSocketAddress remote) throws IOException {
    Socket s = Socket.newSocketDgram(); // non-blocking, of the family the lanes' sockets have
    try {
      s.setReusePort(true);
      s.setReceiveBufferSize(RCVBUF);
      s.bind(local);
      s.connect(remote);
    } catch (IOException | RuntimeException e) {
      s.close();
      throw e;
    }
    PeerSocket ps = new PeerSocket(peer, remote, s, receiver, loop.nowNanos());
    io.netty.util.concurrent.Future<IoRegistration> registered;
    try {
      registered = loop.register(ps);
    } catch (RuntimeException e) { // the loop is shutting down
      ps.close();
      throw e;
    }
    registered.addListener(f -> {
      if (!f.isSuccess()) {
        ps.close(); // its connection's datagrams stay on the lanes' sockets
        receiver.peerSocketFailed(f.cause());
        return;
      }
      IoRegistration r = (IoRegistration) f.getNow();
      if (ps.closed) { // closed (socket and all) while the registration was on its way
        r.cancel();
        return;
      }
      ps.registration = r;
      r.submit(EpollIoOps.EPOLLIN); // level-triggered: a read that stops at its budget is called again next turn
    });
    return ps;
  }

  boolean isClosed() {
    return closed;
  }

  /** A read failed; true once {@link #MAX_FAILED_READS} have failed in a row (an ICMP report fails one read). */
  boolean failedRead() {
    return ++failedReads >= MAX_FAILED_READS;
  }

  /** A read succeeded (or found nothing): the failed reads in a row start again from 0. */
  void readOk() {
    failedReads = 0;
  }

  /** Whether connected receive sockets are used, given {@code -Dveil.connectedReceive} and the kernel's release. */
  static boolean enabled(String property, String kernelRelease) {
    if (property != null && !property.isEmpty()) {
      return !"false".equals(property);
    }
    java.util.regex.Matcher m = KERNEL_RELEASE.matcher(String.valueOf(kernelRelease));
    if (!m.find()) {
      return false;
    }
    int major = Integer.parseInt(m.group(1));
    int minor = Integer.parseInt(m.group(2));
    return major > 5 || (major == 5 && minor >= 4);
  }

  /** Stops reading and closes the socket (on the loop); its unread datagrams are gone with it. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (registration != null) {
      registration.cancel(); // removes the fd from the epoll set before it is closed
      registration = null;
    }
    closeSocket();
  }

  private void closeSocket() {
    try {
      socket.close();
    } catch (IOException e) {
      // nothing left to do with it
    }
  }

  @Override
  public FileDescriptor fd() {
    return socket;
  }

  @Override
  public void handle(IoRegistration registration, IoEvent event) {
    if (!closed) {
      receiver.readPeerSocket(this);
    }
  }

  @Override
  public String toString() {
    return "PeerSocket[" + peer.connectionId + " " + remote + "]";
  }
}
