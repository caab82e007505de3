package dev.veil.server;

import dev.veil.signaling.Role;
import dev.veil.webrtc.transport.TransportOutput;
import dev.veil.webrtc.transport.TransportStats;
import dev.veil.webrtc.transport.WebRtcTransport;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The media of one connection, on its channel's media loop ({@link MediaLane}): its {@link WebRtcTransport} on the
 * shared UDP port (ICE, DTLS, SRTP: what comes in is routed, what the router sends goes out) and the parts that
 * serve it: its offer/answer ({@link RtcPeerSdp}, which creates the producers it publishes in the router), the
 * tracks it receives ({@link RtcPeerTracks}: its consumers) and its congestion control ({@link RtcPeerCc}).
 */
final class RtcPeer implements Media.Peer {
  private static final Logger LOG = LoggerFactory.getLogger(RtcPeer.class);

  /** The media loop this connection lives on (with its channel). */
  final MediaLane media;
  /** The channel's router. */
  final ChannelRouters.Channel channel;
  final String connectionId;
  final Role role;
  final WebRtcTransport transport;
  /** The publisher's RTX streams, unwrapped before routing. */
  final UplinkRtx rtx = new UplinkRtx();
  final RtcPeerSdp sdp;
  final RtcPeerTracks tracks;
  final RtcPeerCc cc;
  private final Runnable onFailed;
  /** The connected socket its datagrams arrive on once it is connected, or null (lane's loop only). */
  PeerSocket socket;
  private boolean closed;
  private boolean connectedLogged;
  /** Loop time the transport was opened (the connect admitted), for {@code veil_join_seconds}. */
  private final long openedNanos;
  /** The join time has been recorded (the first media flowed). */
  private boolean joinTimed;
  private EventLoop.Timer timer;
  private long timerAt = Long.MAX_VALUE;
  private boolean wakeupPosted;
  private final Object wakeupLock = new Object();

  RtcPeer(MediaLane media, ChannelRouters.Channel channel, String connectionId, Role role, boolean audio,
      boolean video, boolean screen, Runnable onFailed) {
    this.media = media;
    this.channel = channel;
    this.connectionId = connectionId;
    this.role = role;
    this.onFailed = onFailed;
    this.openedNanos = media.loop().nowNanos();
    this.transport = new WebRtcTransport(media.certificate(), media.dtlsConfig(), media.dtlsPool(), this::wakeup,
        media.random());
    transport.setMappedAddressResolver(media::mappedAddress); // ICE-TCP paths (IceTcp)
    this.sdp = new RtcPeerSdp(this, transport, audio, video, screen);
    this.tracks = new RtcPeerTracks(this);
    this.cc = new RtcPeerCc(this);
  }

  /** True once the transport is closed (on the lane's loop). */
  boolean isClosed() {
    return closed;
  }

  String localUfrag() {
    return transport.localIceCredentials().ufrag();
  }

  // ------------------------------------------------------------------------------------------------------ SDP

  @Override
  public String offer(List<Media.Track> receive) {
    return sdp.offer(receive);
  }

  @Override
  public List<Media.Track> answer(String text) throws Media.MediaException {
    return sdp.answer(text);
  }

  @Override
  public void restartIce() {
    if (closed) {
      return;
    }
    sdp.restartIce();
  }

  @Override
  public void setReceiveMaxHeight(int maxHeight, String trackId) {
    if (closed) {
      return;
    }
    tracks.setReceiveMaxHeight(maxHeight, trackId);
  }

  // ------------------------------------------------------------------------------------------------ transport

  void handleDatagram(byte[] data, InetSocketAddress from) {
    transport.handleDatagram(data, from, media.nowMillis());
    drain();
  }

  /**
   * An SRTP ({@code rtcp} false) or SRTCP datagram of this connection in its lane's receive buffer
   * ({@code buf[0, len)}): checked and decrypted in place and routed from there (no copy, nothing queued on the
   * transport). The lane reuses the buffer once this returns, so nothing here keeps it. The transport's timer is not
   * re-armed: authenticated media only moves its consent deadline later, so the armed timer fires early and re-arms.
   */
  void receiveMediaInPlace(boolean rtcp, byte[] buf, int len, InetSocketAddress from) {
    int n = transport.receiveMediaInPlace(rtcp, buf, 0, len, from, media.nowMillis());
    if (n < 0 || closed) {
      return;
    }
    if (rtcp) {
      receivedRtcp(buf, 0, n);
    } else {
      receivedRtp(buf, 0, n);
    }
  }

  /** A received (decrypted) RTP packet in {@code buf[off, off+len)}: congestion control, RTX unwrapping, routing. */
  private void receivedRtp(byte[] buf, int off, int len) {
    if (!joinTimed) {
      mediaFlowing();
    }
    cc.onRtp(buf, off, len);
    if (rtx.passesThrough(buf, off, len)) {
      media.routers.routeRtp(channel, connectionId, buf, off, len);
      return;
    }
    byte[] packet = rtx.onRtp(off == 0 && len == buf.length ? buf : java.util.Arrays.copyOfRange(buf, off, off + len));
    if (packet != null) {
      media.routers.routeRtp(channel, connectionId, packet);
    }
  }

  /** A received (decrypted) RTCP compound in {@code buf[off, off+len)}: downlink feedback, then routing. */
  private void receivedRtcp(byte[] buf, int off, int len) {
    cc.onRtcp(buf, off, len);
    media.routers.routeRtcp(channel, connectionId, buf, off, len);
  }

  void sendRtp(byte[] plain) {
    if (cc.hasDownlink() && transport.isConnected()) {
      plain = cc.stamp(plain);
    }
    if (transport.sendRtp(plain)) {
      if (!joinTimed) {
        mediaFlowing();
      }
      drain();
    }
  }

  /**
   * A forwarded packet in the router's reused buffer: stamped (downlink congestion control: the transport-wide
   * sequence number, its element added in place if the header lacks it), protected in place and sent from there
   * (one copy, into the socket's pooled direct buffer). Same bytes and counts as {@link #sendRtp} on a copy.
   */
  void forwardRtp(byte[] buf, int off, int len) {
    if (closed) {
      return;
    }
    InetSocketAddress to = transport.mediaDestination();
    int plain = len;
    if (to != null && cc.hasDownlink()) {
      plain = cc.stampInPlace(buf, off, len);
    }
    int n = transport.protectRtpInPlace(buf, off, plain);
    if (n >= 0 && to != null) {
      media.send(buf, off, n, to);
      if (!joinTimed) {
        mediaFlowing();
      }
    }
  }

  void sendRtcp(byte[] plain) {
    if (transport.sendRtcp(plain)) {
      drain();
    }
  }

  /** A padding probe (downlink congestion control): on the transport, not the router. */
  void sendProbe(byte[] plain) {
    if (transport.sendRtp(plain)) {
      drain();
    }
  }

  /** Called by a DTLS worker thread: collect its output on the loop. */
  private void wakeup() {
    synchronized (wakeupLock) {
      if (wakeupPosted) {
        return;
      }
      wakeupPosted = true;
    }
    media.loop().execute(() -> {
      synchronized (wakeupLock) {
        wakeupPosted = false;
      }
      if (!closed) {
        transport.poll(media.nowMillis());
        drain();
      }
    });
  }

  /** Handles everything the transport has queued, then re-arms its timer. */
  void drain() {
    TransportOutput o;
    while ((o = transport.pollOutput()) != null) {
      if (o instanceof TransportOutput.Transmit t) {
        media.send(t.data(), t.destination());
      } else if (o instanceof TransportOutput.Timeout t) {
        arm(t.atMillis());
        break;
      } else if (o instanceof TransportOutput.RtpReceived r) {
        receivedRtp(r.packet(), 0, r.packet().length);
      } else if (o instanceof TransportOutput.RtcpReceived r) {
        receivedRtcp(r.packet(), 0, r.packet().length);
      } else if (o instanceof TransportOutput.AddressValidated v) {
        media.addressValidated(this, v.address());
      } else if (o instanceof TransportOutput.RemoteAddressChanged c) {
        media.addressValidated(this, c.current());
        if (connectedLogged) {
          media.openPeerSocket(this, c.current());
        }
        LOG.info("{} media moved to a new address", connectionId);
      } else if (o instanceof TransportOutput.Connected c) {
        media.stats().inc("media.transports_connected");
        media.openPeerSocket(this, c.remote());
        if (!connectedLogged) {
          connectedLogged = true;
          LOG.info("{} media connected ({})", connectionId, c.profile());
        }
        tracks.startAll();
        media.routers.drain(channel);
      } else if (o instanceof TransportOutput.Failed f) {
        media.stats().inc("media.transports_failed");
        LOG.info("{} media failed: {}", connectionId, f.reason());
        if (!closed) {
          onFailed.run();
        }
      } else if (o instanceof TransportOutput.Closed c) {
        if (!closed) {
          LOG.info("{} media closed by the peer: {}", connectionId, c.reason());
          onFailed.run();
        }
      }
    }
  }

  /** The first media in either direction: the join is done ({@code veil_join_seconds}). */
  private void mediaFlowing() {
    media.stats().metrics.join.record(media.loop().nowNanos() - openedNanos, TimeUnit.NANOSECONDS);
    joinTimed = true;
  }

  private void arm(long atMillis) {
    if (closed || atMillis == timerAt && timer != null) {
      return;
    }
    if (timer != null) {
      timer.cancel();
      timer = null;
    }
    timerAt = atMillis;
    if (atMillis == Long.MAX_VALUE) {
      return;
    }
    long delay = Math.max(0, atMillis - media.nowMillis());
    timer = media.loop().schedule(TimeUnit.MILLISECONDS.toNanos(delay), () -> {
      timer = null;
      timerAt = Long.MAX_VALUE;
      if (!closed) {
        transport.poll(media.nowMillis());
        drain();
      }
    });
  }

  // -------------------------------------------------------------------------------------------- stats, close

  @Override
  public dev.veil.signaling.DownlinkStats downlinkStats() {
    if (closed) {
      return null;
    }
    return new dev.veil.signaling.DownlinkStats(cc.measuredEstimateBps(), tracks.stats());
  }

  /** Adds this transport's counters to {@code out} (live peers; closed ones are folded into Stats). */
  void addLiveCounters(Map<String, Long> out) {
    TransportStats st = transport.stats();
    for (var e : st.dropped().entrySet()) {
      out.merge("media.dropped." + e.getKey().name().toLowerCase(), e.getValue(), Long::sum);
    }
    for (var e : st.received().entrySet()) {
      out.merge("media.received." + e.getKey().name().toLowerCase(), e.getValue(), Long::sum);
    }
    for (var e : st.srtpRejected().entrySet()) {
      out.merge("media.srtp_rejected." + e.getKey().name().toLowerCase(), e.getValue(), Long::sum);
    }
    for (var e : st.srtcpRejected().entrySet()) {
      out.merge("media.srtcp_rejected." + e.getKey().name().toLowerCase(), e.getValue(), Long::sum);
    }
    out.merge("media.stun_error_responses", st.stunErrorResponses(), Long::sum);
    out.merge("media.rtp_sent", st.rtpSent(), Long::sum);
    out.merge("media.rtcp_sent", st.rtcpSent(), Long::sum);
    out.merge("media.send_dropped", st.sendDropped(), Long::sum);
    rtx.addCounters(out);
    cc.addCounters(out);
  }

  /** Adds this transport's gauges to {@code out} (live peers only; never folded into the totals). */
  void addLiveGauges(Map<String, Long> out) {
    cc.addGauges(out);
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closeTransport();
    media.removed(this);
  }

  void closeTransport() {
    if (closed) {
      return;
    }
    closed = true;
    if (timer != null) {
      timer.cancel();
    }
    if (socket != null) {
      socket.close();
      socket = null;
    }
    cc.cancelTimers();
    TransportStats st = transport.stats();
    LOG.info("{} media closed: received {} dropped {} srtp-rejected {} stun-errors {} rtp-sent {} rtcp-sent {}",
        connectionId, st.received(), st.dropped(), st.srtpRejected(), st.stunErrorResponses(), st.rtpSent(),
        st.rtcpSent());
    Map<String, Long> finalCounters = new java.util.TreeMap<>();
    addLiveCounters(finalCounters);
    media.foldClosedCounters(finalCounters);
    transport.close();
    TransportOutput o;
    while ((o = transport.pollOutput()) != null) {
      if (o instanceof TransportOutput.Transmit t) {
        media.send(t.data(), t.destination()); // close_notify
      } else if (o instanceof TransportOutput.Timeout) {
        break;
      }
    }
  }
}
