package dev.veil.server;

import dev.veil.signaling.Role;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import dev.veil.webrtc.sdp.MediaKind;
import java.net.InetAddress;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.Map;
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
  private final Map<String, RtcPeer> peers = new HashMap<>();
  private final Map<String, Producer> producers = new HashMap<>();
  private final SecureRandom random = new SecureRandom();
  private final InetAddress announced;

  RtcMedia(EventLoop loop, ServerConfig cfg, Stats stats) throws IOException {
    this.loop = loop;
    this.cfg = cfg;
    this.stats = stats;
    this.announced = InetAddress.getByName(cfg.announcedAddress());
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
    RtcPeer p = new RtcPeer(this, connectionId, role, audio, video, onMediaFailed);
    peers.put(connectionId, p);
    stats.inc("media.peers_opened");
    return p;
  }

  void removed(RtcPeer p) {
    peers.remove(p.connectionId);
    for (Media.Track t : p.published) {
      producers.remove(t.id());
    }
  }

  /** A published track: its owner and the SSRC it arrives with. */
  record Producer(RtcPeer owner, Media.Track track, MediaKind kind, long ssrc) {}

  Producer producer(String trackId) {
    return producers.get(trackId);
  }

  void addProducer(Producer p) {
    producers.put(p.track().id(), p);
  }

  InetAddress announcedAddress() {
    return announced;
  }

  SecureRandom random() {
    return random;
  }

  void close() {
    try {
      udp.close();
    } catch (IOException e) {
      LOG.debug("closing udp", e);
    }
  }
}
