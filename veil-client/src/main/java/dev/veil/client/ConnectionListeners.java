package dev.veil.client;

import dev.veil.signaling.Notify;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * The listeners of one {@link Connection}: added and removed from any thread, called on the connection's loop thread
 * one at a time and in order. A listener's failure is the application's, not the connection's: it is swallowed and
 * the next listener is still called. Also makes the one-function listeners of {@link Connection#onAudioFrame} and
 * its siblings.
 */
final class ConnectionListeners {
    private final List<Connection.Listener> listeners = new CopyOnWriteArrayList<>();

    void add(Connection.Listener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    void remove(Connection.Listener listener) {
        listeners.remove(listener);
    }

    /** Calls {@code call} on every listener (loop thread). */
    void emit(Consumer<Connection.Listener> call) {
        for (Connection.Listener l : listeners) {
            try {
                call.accept(l);
            } catch (RuntimeException e) {
                // a listener's failure is the application's, not the connection's
            }
        }
    }

    // ------------------------------------------------------------------------------------------ one-function
    // The listeners behind Connection's onAudioFrame(f), onTrack(f), ...: each hands its one kind of event to f.

    static Connection.Listener audioFrames(BiConsumer<String, byte[]> f) {
        return new Connection.Listener() {
            @Override
            public void onAudioFrame(String sender, byte[] frame) {
                f.accept(sender, frame);
            }
        };
    }

    static Connection.Listener tracks(Consumer<Track> f) {
        return new Connection.Listener() {
            @Override
            public void onTrack(Track t) {
                f.accept(t);
            }
        };
    }

    static Connection.Listener notifies(Consumer<Notify> f) {
        return new Connection.Listener() {
            @Override
            public void onNotify(Notify n) {
                f.accept(n);
            }
        };
    }

    static Connection.Listener disconnects(Consumer<String> f) {
        return new Connection.Listener() {
            @Override
            public void onDisconnect(String reason) {
                f.accept(reason);
            }
        };
    }

    static Connection.Listener dataMessages(Consumer<DataMessage> f) {
        return new Connection.Listener() {
            @Override
            public void onData(DataMessage m) {
                f.accept(m);
            }
        };
    }

    static Connection.Listener e2eeEvents(Consumer<E2eeEvent> f) {
        return new Connection.Listener() {
            @Override
            public void onE2ee(E2eeEvent e) {
                f.accept(e);
            }
        };
    }
}
