package dev.veil.server.auth;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@link AuthWebhook} over HTTP(S) with the JDK client; decisions are handed to {@code loop}. */
public final class HttpAuthWebhook implements AuthWebhook {
  private static final Logger LOG = LoggerFactory.getLogger(HttpAuthWebhook.class);
  private final HttpClient http;
  private final URI url;
  private final Duration timeout;
  private final Executor loop;

  public HttpAuthWebhook(URI url, Duration timeout, Executor loop) {
    this.url = url;
    this.timeout = timeout;
    this.loop = loop;
    this.http = HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NEVER).build();
  }

  @Override
  public void ask(String requestJson, Consumer<Boolean> decision) {
    HttpRequest req = HttpRequest.newBuilder(url).timeout(timeout).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(requestJson)).build();
    http.sendAsync(req, HttpResponse.BodyHandlers.ofInputStream()).whenComplete((resp, err) -> {
      boolean ok = false;
      if (err != null) {
        LOG.info("auth webhook failed: {}", err.getClass().getSimpleName());
      } else {
        try (InputStream in = resp.body()) {
          byte[] body = in.readNBytes(MAX_RESPONSE_BYTES + 1);
          ok = AuthWebhook.allowed(resp.statusCode(), body);
        } catch (IOException e) {
          LOG.info("auth webhook answer unreadable: {}", e.getClass().getSimpleName());
        }
      }
      boolean allow = ok;
      loop.execute(() -> decision.accept(allow));
    });
  }
}
