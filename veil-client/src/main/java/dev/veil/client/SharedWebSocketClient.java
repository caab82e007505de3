package dev.veil.client;

import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.eclipse.jetty.websocket.client.WebSocketClient;

/**
 * The one Jetty WebSocket client of the SDK, shared by every connection of the JVM (like a shared HTTP client):
 * started on first use, its threads are daemon threads (they never keep the JVM alive) and it is never stopped.
 * Each connection only opens and closes its own WebSocket session on it.
 */
final class SharedWebSocketClient {
    private static WebSocketClient client;

    private SharedWebSocketClient() {}

    static synchronized WebSocketClient get() throws Exception {
        if (client == null) {
            QueuedThreadPool pool = new QueuedThreadPool(64, 2);
            pool.setName("veil-client-ws");
            pool.setDaemon(true);
            HttpClient http = new HttpClient();
            http.setExecutor(pool);
            http.setScheduler(new ScheduledExecutorScheduler("veil-client-ws-scheduler", true));
            WebSocketClient c = new WebSocketClient(http);
            c.start();
            client = c;
        }
        return client;
    }
}
