package dev.veil.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * The plain HTTP part: {@code /} (the demo page), {@code /sdk/*} (the browser SDK, copied from veil-js/src into
 * the jar under {@code web/}), {@code GET /health} (readiness and load, JSON), {@code GET /health/live} (liveness)
 * and {@code GET /metrics} (Prometheus text, {@link Metrics}); on the loopback-only admin connector (if any) only
 * {@code POST /admin/drain}. Files come from the class path only, through a strict path whitelist, so no request
 * can reach anything else.
 */
final class WebHandler extends Handler.Abstract.NonBlocking {
  private static final Pattern SAFE_PATH = Pattern.compile("(?:[A-Za-z0-9_\\-]+/)*[A-Za-z0-9_\\-]+(?:\\.[A-Za-z0-9]+)+");
  private static final Map<String, String> TYPES = Map.of(
      "js", "text/javascript; charset=utf-8",
      "mjs", "text/javascript; charset=utf-8",
      "html", "text/html; charset=utf-8",
      "css", "text/css; charset=utf-8",
      "json", "application/json",
      "ts", "text/plain; charset=utf-8",
      "svg", "image/svg+xml",
      "png", "image/png",
      "map", "application/json");

  private final Supplier<ObjectNode> health;
  private final Supplier<String> metrics;
  /** The loopback-only admin connector ({@code POST /admin/drain}), or null. */
  private final org.eclipse.jetty.server.Connector admin;
  private final Supplier<ObjectNode> drain;
  private final Map<String, byte[]> cache = new ConcurrentHashMap<>();
  private final ObjectMapper json = new ObjectMapper();

  WebHandler(Supplier<ObjectNode> health, Supplier<String> metrics) {
    this(health, metrics, null, null);
  }

  WebHandler(Supplier<ObjectNode> health, Supplier<String> metrics, org.eclipse.jetty.server.Connector admin,
      Supplier<ObjectNode> drain) {
    this.health = health;
    this.metrics = metrics;
    this.admin = admin;
    this.drain = drain;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    String path = Request.getPathInContext(request);
    String method = request.getMethod();
    boolean head = HttpMethod.HEAD.is(method);
    if (admin != null && request.getConnectionMetaData().getConnector() == admin) {
      // the admin port serves the admin endpoints only
      if (!path.equals("/admin/drain")) {
        Response.writeError(request, response, callback, HttpStatus.NOT_FOUND_404);
      } else if (!HttpMethod.POST.is(method)) {
        Response.writeError(request, response, callback, HttpStatus.METHOD_NOT_ALLOWED_405);
      } else {
        writeJson(request, response, callback, HttpStatus.ACCEPTED_202, drain.get(), false);
      }
      return true;
    }
    if (!HttpMethod.GET.is(method) && !head) {
      Response.writeError(request, response, callback, HttpStatus.METHOD_NOT_ALLOWED_405);
      return true;
    }
    if (path.equals("/health") || path.equals("/health/live")) {
      ObjectNode node = health.get();
      String st = node.path("status").asText();
      // /health is readiness: ready only while "ok" (a draining, stopping, stalled or failed server answers 503 so
      // that a load balancer stops sending it clients). /health/live is liveness: 503 only when the process is
      // broken ("failed", "stalled"), so that a supervisor does not kill a server that drains.
      boolean up = path.equals("/health") ? "ok".equals(st) : !"failed".equals(st) && !"stalled".equals(st);
      writeJson(request, response, callback, up ? HttpStatus.OK_200 : HttpStatus.SERVICE_UNAVAILABLE_503, node, head);
      return true;
    }
    if (path.equals("/metrics")) {
      send(response, callback, HttpStatus.OK_200, Metrics.CONTENT_TYPE, utf8(metrics.get()), head, "no-store");
      return true;
    }
    String resource;
    if (path.equals("/") || path.equals("/index.html")) {
      resource = "index.html";
    } else if (path.startsWith("/sdk/")) {
      resource = path.substring("/sdk/".length());
    } else {
      return false;
    }
    if (!SAFE_PATH.matcher(resource).matches()) {
      Response.writeError(request, response, callback, HttpStatus.NOT_FOUND_404);
      return true;
    }
    byte[] body = load(resource);
    if (body == null) {
      Response.writeError(request, response, callback, HttpStatus.NOT_FOUND_404);
      return true;
    }
    String ext = resource.substring(resource.lastIndexOf('.') + 1);
    send(response, callback, HttpStatus.OK_200, TYPES.getOrDefault(ext, "application/octet-stream"), body, head, "no-cache");
    return true;
  }

  private void writeJson(Request request, Response response, Callback callback, int status, ObjectNode node,
      boolean head) {
    byte[] body;
    try {
      body = json.writeValueAsBytes(node);
    } catch (IOException e) {
      Response.writeError(request, response, callback, HttpStatus.INTERNAL_SERVER_ERROR_500);
      return;
    }
    send(response, callback, status, "application/json", body, head, "no-store");
  }

  private byte[] load(String resource) {
    byte[] cached = cache.get(resource);
    if (cached != null) {
      return cached;
    }
    try (InputStream in = WebHandler.class.getClassLoader().getResourceAsStream("web/" + resource)) {
      if (in == null) {
        return null;
      }
      byte[] b = in.readAllBytes();
      cache.put(resource, b);
      return b;
    } catch (IOException e) {
      return null;
    }
  }

  private static void send(Response response, Callback callback, int status, String type, byte[] body,
      boolean head, String cacheControl) {
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, cacheControl);
    response.getHeaders().put("X-Content-Type-Options", "nosniff");
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
    response.write(true, head ? ByteBuffer.allocate(0) : ByteBuffer.wrap(body), callback);
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
