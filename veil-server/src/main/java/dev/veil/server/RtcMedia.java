package dev.veil.server;

import dev.veil.signaling.Role;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The media plane: the one UDP port shared by every client, on the event loop thread.
 */
final class RtcMedia implements Media {
  private static final Logger LOG = LoggerFactory.getLogger(RtcMedia.class);

  private final EventLoop loop;
  private final ServerConfig cfg;
  private final Stats stats;
  private final DatagramChannel udp;
  private final ByteBuffer rx = ByteBuffer.allocateDirect(2048);

  RtcMedia(EventLoop loop, ServerConfig cfg, Stats stats) throws IOException {
    this.loop = loop;
    this.cfg = cfg;
    this.stats = stats;
    this.udp = DatagramChannel.open();
    udp.bind(new InetSocketAddress(cfg.rtcBindAddress(), cfg.rtcPort()));
    loop.register(udp, this::readable);
  }

  int localPort() {
    try {
      return ((InetSocketAddress) udp.getLocalAddress()).getPort();
    } catch (IOException e) {
      return -1;
    }
  }

  private void readable(SelectionKey key) {
    for (int i = 0; i < 64; i++) {
      rx.clear();
      SocketAddress from;
      try {
        from = udp.receive(rx);
      } catch (IOException e) {
        stats.inc("udp.receive_errors");
        return;
      }
      if (from == null) {
        return;
      }
      rx.flip();
      byte[] data = new byte[rx.remaining()];
      rx.get(data);
      stats.inc("udp.datagrams_in");
      onDatagram(data, (InetSocketAddress) from);
    }
  }

  private void onDatagram(byte[] data, InetSocketAddress from) {
    stats.inc("udp.dropped.unknown_source");
  }

  @Override
  public Peer open(String connectionId, Role role, boolean audio, boolean video, Runnable onMediaFailed) {
    throw new UnsupportedOperationException("media not wired yet");
  }

  void close() {
    try {
      udp.close();
    } catch (IOException e) {
      LOG.debug("closing udp", e);
    }
  }
}
