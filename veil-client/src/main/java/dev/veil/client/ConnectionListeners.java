package dev.veil.client;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The listeners of one {@link Connection}: added and removed from any thread, called on the connection's loop thread
 * one at a time and in order. A listener's failure is the application's, not the connection's: it is swallowed and
 * the next listener is still called.
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
}
