package dev.derrick.server.internal.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.derrick.core.Redactor;
import dev.derrick.core.wire.WireError;
import dev.derrick.server.internal.Operations;
import dev.derrick.server.internal.Reply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * derrick's HTTP API on the JDK's {@link HttpServer} with a bounded thread pool: the routes of {@link Route#ALL},
 * bearer-token auth, a request-body limit enforced while streaming, and one INFO log line per request.
 *
 * <pre>{@code
 * try (HttpApiServer server = HttpApiServer.builder(operations).port(0).start()) {
 *     URI base = server.uri();
 * }
 * }</pre>
 *
 * {@link #close()} stops the listener and the pool; it does not close the {@link Operations}.
 */
public final class HttpApiServer implements AutoCloseable {
    /** Default request-body limit: 256 MiB (a 100 MiB file is ~134 MiB as base64 JSON). */
    public static final long DEFAULT_MAX_BODY_BYTES = 256L * 1024 * 1024;
    /** Default number of request threads; a long command holds one for its duration. */
    public static final int DEFAULT_THREADS = 64;
    private static final String OPENAPI_RESOURCE = "/dev/derrick/server/openapi.json";
    private static final Logger log = LoggerFactory.getLogger("dev.derrick.server.http");

    private final Operations operations;
    private final byte[] apiToken;
    private final long maxBodyBytes;
    private final Redactor redactor;
    private final HttpServer server;
    private final ThreadPoolExecutor executor;
    private final AtomicBoolean closed = new AtomicBoolean();

    private HttpApiServer(Builder b) throws IOException {
        this.operations = b.operations;
        this.apiToken = b.apiToken == null || b.apiToken.isEmpty() ? null : b.apiToken.getBytes(StandardCharsets.UTF_8);
        this.maxBodyBytes = b.maxBodyBytes;
        this.redactor = b.redactor == null ? new Redactor() : b.redactor;
        if (b.apiToken != null) {
            redactor.add(b.apiToken);
        }
        AtomicInteger n = new AtomicInteger();
        ThreadFactory threads = r -> {
            Thread t = new Thread(r, "derrick-http-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        this.executor = new ThreadPoolExecutor(b.threads, b.threads, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(b.queue), threads, new ThreadPoolExecutor.AbortPolicy());
        executor.allowCoreThreadTimeOut(true);
        // The JDK server writes headers and body separately; with Nagle on, a small reply waits for the client's
        // delayed ACK (~40 ms per request). The server reads this property once, when its first instance starts.
        if (System.getProperty("sun.net.httpserver.nodelay") == null) {
            System.setProperty("sun.net.httpserver.nodelay", "true");
        }
        this.server = HttpServer.create(new InetSocketAddress(b.bind, b.port), 256);
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
    }

    /** A builder serving {@code operations}. */
    public static Builder builder(Operations operations) {
        return new Builder(operations);
    }

    /** The bound address (with the real port when started on port 0). */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    /** {@code http://host:port}. */
    public java.net.URI uri() {
        InetSocketAddress a = address();
        String host = a.getAddress().getHostAddress();
        if (host.contains(":")) {
            host = "[" + host + "]";
        }
        return java.net.URI.create("http://" + host + ":" + a.getPort());
    }

    /** The OpenAPI document served at {@code /openapi.json}. */
    public static byte[] openApiDocument() {
        try (InputStream in = HttpApiServer.class.getResourceAsStream(OPENAPI_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + OPENAPI_RESOURCE);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void handle(HttpExchange exchange) throws IOException {
        long start = System.nanoTime();
        String method = exchange.getRequestMethod();
        String path = exchange.getRequestURI().getRawPath();
        OutputStreamer streamer = OutputStreamer.wants(exchange) ? new OutputStreamer(exchange) : null;
        Reply reply;
        try {
            reply = route(exchange, method, path, streamer);
        } catch (RuntimeException e) {
            log.error("unexpected failure for {} {}", method, redactor.redact(path), e);
            reply = Reply.error(WireError.of(500, WireError.INTERNAL, "internal error: " + redactor.redact(String.valueOf(e))));
        }
        boolean streamed = streamer != null && streamer.started();
        try {
            if (streamed) {
                streamer.finish(reply);
            } else {
                send(exchange, reply);
            }
        } catch (IOException e) {
            log.debug("could not send the reply of {} {}: {}", method, redactor.redact(path), e.toString());
        } finally {
            exchange.close();
            long ms = (System.nanoTime() - start) / 1_000_000;
            String line = method + " " + redactor.redact(path) + " " + reply.status() + " " + ms + " ms"
                    + (reply.isError() ? " (" + reply.errorCode() + ")" : "")
                    + (streamed ? " (streamed " + streamer.count() + " chunks)" : "");
            if (reply.status() >= 500 && reply.status() != 501) {
                log.warn(line);
            } else {
                log.info(line);
            }
        }
    }

    private Reply route(HttpExchange exchange, String method, String path, OutputStreamer streamer) {
        Route matched = null;
        String id = null;
        String pid = null;
        List<String> allowed = new ArrayList<>();
        for (Route r : Route.ALL) {
            Optional<Route.Params> m = r.params(path);
            if (m.isPresent()) {
                allowed.add(r.method());
                if (r.method().equals(method)) {
                    matched = r;
                    id = m.get().id();
                    pid = m.get().pid();
                    break;
                }
            }
        }
        if (matched == null) {
            if (!allowed.isEmpty()) {
                exchange.getResponseHeaders().set("Allow", String.join(", ", allowed));
                return Reply.error(WireError.of(405, WireError.METHOD_NOT_ALLOWED,
                        method + " is not allowed on " + path + "; allowed: " + String.join(", ", allowed)));
            }
            return Reply.error(WireError.of(404, WireError.NOT_FOUND, "no route " + method + " " + path
                    + "; see GET /openapi.json"));
        }
        if (apiToken != null && !"/health".equals(matched.template()) && !authorized(exchange)) {
            exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"derrick\"");
            return Reply.error(WireError.of(401, WireError.UNAUTHORIZED,
                    "missing or wrong bearer token: send 'Authorization: Bearer <DERRICK_API_TOKEN>'"));
        }
        String length = exchange.getRequestHeaders().getFirst("Content-Length");
        if (length != null) {
            long declared;
            try {
                declared = Long.parseLong(length.trim());
            } catch (NumberFormatException e) {
                return Reply.error(WireError.of(400, WireError.INVALID_REQUEST, "bad Content-Length"));
            }
            if (declared > maxBodyBytes) {
                exchange.getResponseHeaders().set("Connection", "close");
                return Reply.error(WireError.of(413, WireError.PAYLOAD_TOO_LARGE, "request body of " + declared
                        + " bytes is larger than the limit of " + maxBodyBytes + " bytes"));
            }
        }
        if (matched.operation() == null) {
            return new Reply(200, Reply.JSON, openApiDocument(), null);
        }
        InputStream body = new LimitedInputStream(exchange.getRequestBody(), maxBodyBytes);
        Reply reply = operations.handle(matched.operation(), matched.operation().needsWorkspace() ? id : null, pid, body,
                streamer != null && OutputStreamer.streams(matched.operation()) ? streamer : null);
        if (reply.status() == 413) {
            exchange.getResponseHeaders().set("Connection", "close");
        }
        return reply;
    }

    private boolean authorized(HttpExchange exchange) {
        String header = exchange.getRequestHeaders().getFirst("Authorization");
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        byte[] given = header.substring(7).trim().getBytes(StandardCharsets.UTF_8);
        return MessageDigest.isEqual(given, apiToken);
    }

    private static void send(HttpExchange exchange, Reply reply) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", reply.contentType());
        byte[] body = reply.body();
        if ("HEAD".equals(exchange.getRequestMethod()) || body.length == 0) {
            exchange.sendResponseHeaders(reply.status(), -1);
            return;
        }
        exchange.sendResponseHeaders(reply.status(), body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    /** Stops listening (in-flight exchanges are cut) and ends the request threads. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            server.stop(0);
            executor.shutdownNow();
        }
    }

    /** Options of an {@link HttpApiServer}. */
    public static final class Builder {
        private final Operations operations;
        private InetAddress bind = InetAddress.getLoopbackAddress();
        private int port = 50080;
        private String apiToken;
        private long maxBodyBytes = DEFAULT_MAX_BODY_BYTES;
        private int threads = DEFAULT_THREADS;
        private int queue = 1024;
        private Redactor redactor;

        private Builder(Operations operations) {
            this.operations = Objects.requireNonNull(operations, "operations");
        }

        public Builder bind(InetAddress address) {
            this.bind = Objects.requireNonNull(address, "address");
            return this;
        }

        /** The port; 0 picks a free one. */
        public Builder port(int port) {
            this.port = port;
            return this;
        }

        /** Demands {@code Authorization: Bearer <token>} on every route but {@code /health}; null for none. */
        public Builder apiToken(String token) {
            this.apiToken = token;
            return this;
        }

        public Builder maxBodyBytes(long limit) {
            this.maxBodyBytes = limit;
            return this;
        }

        public Builder threads(int count) {
            this.threads = count;
            return this;
        }

        public Builder redactor(Redactor r) {
            this.redactor = r;
            return this;
        }

        /**
         * Binds and starts serving.
         *
         * @throws IllegalArgumentException for a bad option, or a non-loopback address without a token
         * @throws java.net.BindException when the port is taken
         */
        public HttpApiServer start() throws IOException {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be between 0 and 65535, got " + port);
            }
            if (threads < 1 || maxBodyBytes < 1) {
                throw new IllegalArgumentException("threads and maxBodyBytes must be positive");
            }
            if (!bind.isLoopbackAddress() && (apiToken == null || apiToken.isEmpty())) {
                throw new IllegalArgumentException("refusing to listen on " + bind.getHostAddress()
                        + " without an API token: set DERRICK_API_TOKEN, or bind to 127.0.0.1");
            }
            return new HttpApiServer(this);
        }
    }
}
