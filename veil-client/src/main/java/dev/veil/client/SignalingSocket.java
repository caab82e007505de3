package dev.veil.client;

import dev.veil.signaling.SignalingCodec;
import dev.veil.signaling.SignalingMessage;
import java.net.URI;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.StatusCode;

/**
 * The signaling WebSocket of one {@link Connection} (on the SDK's shared Jetty client): opens it, queues what goes
 * out (Jetty takes one outstanding {@code sendText} at a time), and hands what comes in to the loop thread. Only the
 * socket opened last counts: the events of one left behind by a redirect ({@link #drop}) are ignored.
 */
final class SignalingSocket {
    /** What the socket reports, on the loop thread. */
    interface Events {
        /** The socket is open: {@code connect} can go out. */
        void onOpen();

        void onText(String text);

        void onClosed(int code, String reason);
    }

    private final Executor loop;
    private final ConnectionLifecycle life;
    private final SignalingCodec codec;
    private final Events events;
    /** The WebSocket whose events count; events of a socket left behind by a redirect are ignored. */
    private volatile Connection.SignalingListener active;
    // loop-confined
    private Session ws;
    // Jetty takes one outstanding sendText at a time (another fails with WritePendingException): queue the rest.
    private final ArrayDeque<String> out = new ArrayDeque<>();
    private boolean writing;

    SignalingSocket(Executor loop, ConnectionLifecycle life, SignalingCodec codec, Events events) {
        this.loop = loop;
        this.life = life;
        this.codec = codec;
        this.events = events;
    }

    /** Opens a WebSocket to {@code target}; {@link Events#onOpen} follows, or the connection ends. Loop thread. */
    void open(URI target) {
        Connection.SignalingListener listener = new Connection.SignalingListener(this);
        active = listener;
        life.stage("opening the signaling WebSocket " + target);
        try {
            SharedWebSocketClient.get().connect(listener, target).whenComplete((s, err) -> {
                if (err != null) {
                    loop.execute(() -> {
                        if (listener == active) {
                            life.end("cannot open the signaling WebSocket " + target + ": " + err.getMessage());
                        }
                    });
                } else {
                    loop.execute(() -> opened(listener, s));
                }
            });
        } catch (Exception e) {
            life.end("cannot open the signaling WebSocket " + target + ": " + e.getMessage());
        }
    }

    private void opened(Connection.SignalingListener listener, Session s) {
        if (life.isClosed() || listener != active) {
            s.close();
            return;
        }
        ws = s;
        events.onOpen();
    }

    /** Leaves the current socket (a redirect): what is queued is dropped, its events are ignored, it is closed. */
    void drop() {
        Session old = ws;
        ws = null;
        synchronized (out) {
            out.clear();
            writing = false;
        }
        active = null;
        if (old != null) {
            old.close(StatusCode.NORMAL, "redirected", Callback.NOOP);
        }
    }

    /** The open socket, or null (for the close at the end). */
    Session session() {
        return ws;
    }

    /** Sends {@code m} if the socket is open (dropped otherwise), after what is queued. */
    void send(SignalingMessage m) {
        Session s = ws;
        if (s == null || !s.isOpen()) {
            return;
        }
        String text = codec.encode(m);
        synchronized (out) {
            if (writing) {
                out.addLast(text);
                return;
            }
            writing = true;
        }
        writeText(s, text);
    }

    private void writeText(Session s, String text) {
        Runnable next = () -> {
            String t;
            synchronized (out) {
                t = out.pollFirst();
                if (t == null) {
                    writing = false;
                    return;
                }
            }
            writeText(s, t);
        };
        try {
            s.sendText(text, Callback.from(next, e -> {
                synchronized (out) {
                    out.clear();
                    writing = false;
                }
            }));
        } catch (RuntimeException e) {
            synchronized (out) {
                out.clear();
                writing = false;
            }
        }
    }

    // Jetty's threads: handed to the loop, if the socket still counts

    void received(Connection.SignalingListener listener, String text) {
        loop.execute(() -> {
            if (listener == active) {
                events.onText(text);
            }
        });
    }

    void closed(Connection.SignalingListener listener, int code, String reason) {
        loop.execute(() -> {
            if (listener == active) {
                events.onClosed(code, reason);
            }
        });
    }
}
