package dev.veil.server;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Random;

/**
 * A WebSocket client on a bare TCP socket, handshake and frames by hand (RFC 6455), for clients that misbehave in
 * ways no library allows: it reads only when the test says so, can bind any loopback source address and can shrink
 * its receive buffer.
 */
final class RawWs implements Closeable {
  final Socket socket;
  private final DataInputStream in;
  private final OutputStream out;
  private final Random random = new Random(1);
  int closeCode = -1;

  private RawWs(Socket socket) throws IOException {
    this.socket = socket;
    this.in = new DataInputStream(socket.getInputStream());
    this.out = socket.getOutputStream();
  }

  /** Connects from {@code localAddress} to 127.0.0.1:{@code port} and upgrades; {@code rcvBuf} 0 keeps the default. */
  static RawWs open(String localAddress, int port, int rcvBuf) throws IOException {
    Socket s = new Socket();
    if (rcvBuf > 0) {
      s.setReceiveBufferSize(rcvBuf);
    }
    s.bind(new InetSocketAddress(localAddress, 0));
    s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
    s.setSoTimeout(10_000);
    RawWs ws = new RawWs(s);
    byte[] nonce = new byte[16];
    ws.random.nextBytes(nonce);
    String key = Base64.getEncoder().encodeToString(nonce);
    ws.out.write(("GET /signaling HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nUpgrade: websocket\r\n"
        + "Connection: Upgrade\r\nSec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    ws.out.flush();
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
      int b = ws.in.read();
      if (b < 0) {
        throw new EOFException("closed during the handshake: " + head);
      }
      head.write(b);
    }
    String status = head.toString(StandardCharsets.US_ASCII);
    if (!status.startsWith("HTTP/1.1 101")) {
      throw new IOException("no upgrade: " + status);
    }
    return ws;
  }

  /** Sends one masked text frame. */
  void sendText(String text) throws IOException {
    sendFrame(0x81, text.getBytes(StandardCharsets.UTF_8));
  }

  /** Sends {@code count} masked text frames of {@code text} in one write (a burst the server reads at once). */
  synchronized void sendTextBurst(String text, int count) throws IOException {
    byte[] payload = text.getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    for (int i = 0; i < count; i++) {
      byte[] f = frame(0x81, payload);
      all.write(f, 0, f.length);
    }
    out.write(all.toByteArray());
    out.flush();
  }

  private synchronized void sendFrame(int firstByte, byte[] payload) throws IOException {
    out.write(frame(firstByte, payload));
    out.flush();
  }

  private byte[] frame(int firstByte, byte[] payload) {
    ByteArrayOutputStream f = new ByteArrayOutputStream(payload.length + 14);
    f.write(firstByte);
    if (payload.length < 126) {
      f.write(0x80 | payload.length);
    } else if (payload.length < 65536) {
      f.write(0x80 | 126);
      f.write(payload.length >>> 8);
      f.write(payload.length);
    } else {
      f.write(0x80 | 127);
      for (int i = 7; i >= 0; i--) {
        f.write((int) ((long) payload.length >>> (8 * i)));
      }
    }
    byte[] mask = new byte[4];
    random.nextBytes(mask);
    f.write(mask, 0, mask.length);
    for (int i = 0; i < payload.length; i++) {
      f.write(payload[i] ^ mask[i & 3]);
    }
    return f.toByteArray();
  }

  /** The next text message; null once the server's close frame arrives ({@link #closeCode} set). */
  String readText() throws IOException {
    while (true) {
      int b0 = in.readUnsignedByte();
      int b1 = in.readUnsignedByte();
      long len = b1 & 0x7f;
      if (len == 126) {
        len = in.readUnsignedShort();
      } else if (len == 127) {
        len = in.readLong();
      }
      byte[] payload = new byte[(int) len];
      in.readFully(payload);
      int opcode = b0 & 0x0f;
      if (opcode == 0x8) {
        closeCode = len >= 2 ? ((payload[0] & 0xff) << 8) | (payload[1] & 0xff) : 1005;
        try {
          sendFrame(0x88, new byte[] {payload[0], payload[1]}); // answer the close, as a client must
        } catch (IOException | RuntimeException e) {
          // the server may have gone already
        }
        return null;
      }
      if (opcode == 0x1) {
        return new String(payload, StandardCharsets.UTF_8); // the server never fragments these
      }
    }
  }

  /**
   * Reads (and drops) everything until the server ends the connection; true if it did (end of stream or reset)
   * before a read waited {@code timeoutMillis} for data.
   */
  boolean awaitServerEnd(int timeoutMillis) throws IOException {
    socket.setSoTimeout(timeoutMillis);
    byte[] buf = new byte[64 * 1024];
    try {
      while (in.read(buf) >= 0) {
        // drain
      }
      return true;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (SocketException e) {
      return true; // reset: the server dropped the connection
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
