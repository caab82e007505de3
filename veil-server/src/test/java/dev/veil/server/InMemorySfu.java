package dev.veil.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.veil.signaling.Role;
import dev.veil.webrtc.router.Consumer;
import dev.veil.webrtc.router.ConsumerParams;
import dev.veil.webrtc.router.Producer;
import dev.veil.webrtc.router.ProducerParams;
import dev.veil.webrtc.router.RouterConfig;
import dev.veil.webrtc.router.RouterOutput;
import dev.veil.webrtc.rtcp.RtcpCompound;
import dev.veil.webrtc.rtcp.RtcpPacket;
import dev.veil.webrtc.rtp.RtpCodec;
import dev.veil.webrtc.rtp.RtpPacket;
import dev.veil.webrtc.sdp.MediaKind;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * An in-memory SFU for tests (str0m / Netty EmbeddedChannel style): the real {@link Hub} and {@link ChannelRouters}
 * (one real {@code Router} per channel) on a {@link ManualScheduler}, with {@link FakeWs} sockets and fake
 * transports instead of ICE/DTLS/SRTP/UDP. A client's RTP/RTCP goes straight into its channel's router (as
 * {@code RtcPeer} does with what its transport decrypted); what the router emits for a client is recorded on the
 * client's fake transport. No sockets, threads or sleeps: time moves only with {@link #advanceMillis}.
 *
 * <p>The fake media peers speak a tiny SDP dialect in place of real SDP (the hub only passes it through):
 * offers list the tracks to receive ({@code a=x-track:<trackId> <kind> <ssrc> <rtxSsrc>}), a first answer lists what
 * the client publishes ({@code a=x-publish:<audio|video> <ssrc>}) and {@code a=x-rtx} accepts RTX (payload type
 * {@value #RTX_PT}) on video consumers. Like {@code RtcPeer}, a peer subscribes (creates consumers) when it answers
 * and closes the consumers of tracks that left its offer.
 */
final class InMemorySfu {
  static final int OPUS_PT = 111;
  static final int VP8_PT = 96;
  static final int RTX_PT = 97;

  final ManualScheduler clock = new ManualScheduler();
  final Stats stats = new Stats();
  final ChannelRouters routers;
  final Hub hub;
  private final Map<String, FakePeer> peers = new HashMap<>();
  private final Map<String, List<RouterOutput>> delivered = new HashMap<>();
  private int nextAddress = 1;

  InMemorySfu() {
    routers = new ChannelRouters(clock, new Random(7), RouterConfig.defaults().withKeyFrameRetryMillis(250), stats,
        new ChannelRouters.Sink() {
          @Override
          public void sendRtp(ChannelRouters.Channel ch, RouterOutput.Rtp rtp) {
            delivered.computeIfAbsent(rtp.peerId(), k -> new ArrayList<>()).add(rtp);
          }

          @Override
          public void sendRtcp(ChannelRouters.Channel ch, RouterOutput.Rtcp rtcp) {
            delivered.computeIfAbsent(rtcp.peerId(), k -> new ArrayList<>()).add(rtcp);
          }
        });
    hub = new Hub(clock, ServerConfig.defaults(), stats, this::open, new ConnectionIds(new SecureRandom()));
  }

  long nowMillis() {
    return TimeUnit.NANOSECONDS.toMillis(clock.nowNanos());
  }

  /** Moves the manual clock (router timers, hub timers run on the way), then answers pending re-offers. */
  void advanceMillis(long ms) {
    clock.advance(TimeUnit.MILLISECONDS.toNanos(ms));
    pump();
  }

  private Media.Peer open(String connectionId, String channelId, Role role, boolean audio, boolean video,
      Runnable onFailed) {
    FakePeer p = new FakePeer(connectionId, routers.join(channelId, connectionId));
    peers.put(connectionId, p);
    return p;
  }

  /** The fake media peer: producers from its first answer, consumers for the tracks of its offers. */
  final class FakePeer implements Media.Peer {
    final String id;
    final ChannelRouters.Channel channel;
    /** Track id → {ssrc, rtxSsrc} offered to this peer. */
    final Map<String, long[]> offered = new LinkedHashMap<>();
    boolean rtx;
    boolean answered;
    boolean closed;

    FakePeer(String id, ChannelRouters.Channel channel) {
      this.id = id;
      this.channel = channel;
    }

    @Override
    public String offer(List<Media.Track> receive) {
      StringBuilder sb = new StringBuilder("v=0\r\n");
      List<String> wanted = new ArrayList<>();
      for (Media.Track t : receive) {
        Producer p = channel.router.findProducer(t.id());
        if (p == null) {
          continue;
        }
        wanted.add(t.id());
        long[] s = offered.computeIfAbsent(t.id(), k -> new long[] {channel.router.newSsrc(),
            p.kind() == MediaKind.VIDEO ? channel.router.newSsrc() : 0});
        sb.append("a=x-track:").append(t.id()).append(' ').append(p.kind().sdpName()).append(' ').append(s[0])
            .append(' ').append(s[1]).append("\r\n");
      }
      for (var it = offered.entrySet().iterator(); it.hasNext(); ) {
        var e = it.next();
        if (!wanted.contains(e.getKey())) {
          channel.router.closeConsumer(consumerId(e.getKey()));
          it.remove();
        }
      }
      return sb.toString();
    }

    String consumerId(String trackId) {
      return id + "/" + trackId;
    }

    @Override
    public List<Media.Track> answer(String sdp) throws Media.MediaException {
      List<Media.Track> published = new ArrayList<>();
      if (!answered) {
        answered = true;
        rtx = sdp.contains("a=x-rtx");
        for (String line : sdp.split("\r\n")) {
          if (line.startsWith("a=x-publish:")) {
            String[] f = line.substring("a=x-publish:".length()).split(" ");
            boolean video = f[0].equals("video");
            String trackId = id + "-" + f[0];
            channel.router.createProducer(trackId, id, new ProducerParams(video ? MediaKind.VIDEO : MediaKind.AUDIO,
                video ? RtpCodec.VP8 : RtpCodec.OPUS, video ? VP8_PT : OPUS_PT, video ? 90000 : 48000,
                Long.parseLong(f[1]), f[0]));
            published.add(new Media.Track(id, trackId, f[0]));
          }
        }
      }
      for (Map.Entry<String, long[]> e : offered.entrySet()) {
        if (channel.router.findConsumer(consumerId(e.getKey())) != null) {
          continue;
        }
        Producer p = channel.router.findProducer(e.getKey());
        if (p == null) {
          continue;
        }
        ConsumerParams params = new ConsumerParams(e.getValue()[0], p.payloadType(), p.peerId(), 0, null);
        if (rtx && e.getValue()[1] != 0) {
          params = params.withRtx(e.getValue()[1], RTX_PT);
        }
        channel.router.createConsumer(consumerId(e.getKey()), id, e.getKey(), params, nowMillis());
      }
      routers.drain(channel);
      return published;
    }

    @Override
    public void restartIce() {}

    @Override
    public void close() {
      if (!closed) {
        closed = true;
        routers.leave(channel, id);
      }
    }
  }

  // ------------------------------------------------------------------------------------------------- clients

  /** One client: its WebSocket, its id, and what its fake transport received. */
  final class Client {
    final FakeWs ws;
    final Conn conn;
    final String answerExtra;
    private int rtpRead;

    Client(FakeWs ws, Conn conn, String answerExtra) {
      this.ws = ws;
      this.conn = conn;
      this.answerExtra = answerExtra;
    }

    String id() {
      return conn.id;
    }

    FakePeer peer() {
      return peers.get(conn.id);
    }

    /** The media SSRC and RTX SSRC this client was offered for {@code trackId}, or null. */
    long[] offered(String trackId) {
      return peer().offered.get(trackId);
    }

    /** Sends a (plain) RTP packet to the SFU, as its transport would deliver it after SRTP. */
    void sendRtp(byte[] packet) {
      routers.routeRtp(peer().channel, conn.id, packet);
    }

    void sendRtcp(RtcpPacket... packets) {
      routers.routeRtcp(peer().channel, conn.id, RtcpCompound.write(List.of(packets)));
    }

    /** Every RTP packet the SFU sent this client so far. */
    List<RtpPacket> rtp() throws Exception {
      List<RtpPacket> out = new ArrayList<>();
      for (RouterOutput o : delivered.getOrDefault(conn.id, List.of())) {
        if (o instanceof RouterOutput.Rtp r) {
          out.add(RtpPacket.parse(r.packet()));
        }
      }
      return out;
    }

    /** The RTP packets received since the last call. */
    List<RtpPacket> newRtp() throws Exception {
      List<RtpPacket> all = rtp();
      List<RtpPacket> out = all.subList(rtpRead, all.size());
      rtpRead = all.size();
      return out;
    }

    /** Every RTCP packet the SFU sent this client so far. */
    List<RtcpPacket> rtcp() throws Exception {
      List<RtcpPacket> out = new ArrayList<>();
      for (RouterOutput o : delivered.getOrDefault(conn.id, List.of())) {
        if (o instanceof RouterOutput.Rtcp r) {
          out.addAll(RtcpCompound.parse(r.packet()));
        }
      }
      return out;
    }

    /** Leaves with a disconnect message (the hub's leave runs the close cascade). */
    void leave() {
      hub.text(conn, "{\"type\":\"disconnect\"}");
      clock.runDue();
      pump();
    }
  }

  /**
   * Opens a socket, connects to {@code channel} with {@code role} and answers the offer with {@code answerExtra}
   * (x-publish / x-rtx lines).
   */
  Client join(String channel, String role, String answerExtra) {
    FakeWs ws = new FakeWs("10.0.0." + nextAddress++);
    Conn conn = hub.opened(ws);
    clock.runDue();
    Client c = new Client(ws, conn, answerExtra);
    hub.text(conn, "{\"type\":\"connect\",\"role\":\"" + role + "\",\"channel_id\":\"" + channel + "\"}");
    clock.runDue();
    clients.add(c);
    pump();
    return c;
  }

  private final List<Client> clients = new ArrayList<>();

  /** Reads every client's signaling and answers its offers and re-offers, until nothing is pending. */
  void pump() {
    boolean again = true;
    while (again) {
      again = false;
      for (Client c : clients) {
        if (c.ws.closeCode >= 0) {
          continue;
        }
        for (JsonNode m : c.ws.read()) {
          String type = m.path("type").asText();
          if (type.equals("offer")) {
            hub.text(c.conn, json("answer", "v=0\r\n" + c.answerExtra));
            again = true;
          } else if (type.equals("re-offer")) {
            hub.text(c.conn, json("re-answer", "v=0\r\n" + c.answerExtra));
            again = true;
          }
        }
        clock.runDue();
      }
    }
  }

  private static String json(String type, String sdp) {
    return "{\"type\":\"" + type + "\",\"sdp\":\"" + sdp.replace("\r\n", "\\r\\n") + "\"}";
  }
}
