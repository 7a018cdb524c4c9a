package dev.derrick.server.internal.http;

import dev.derrick.core.Redactor;
import dev.derrick.core.wire.WireError;
import dev.derrick.core.protocol.Operation;
import dev.derrick.server.internal.Operations;
import dev.derrick.server.internal.Reply;
import jakarta.servlet.Servlet;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.http.UriCompliance;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.ConnectionLimit;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * derrick's HTTP API on Jetty 12: the routes of {@link Route#ALL}, bearer-token auth, a request-body limit, JSON
 * errors for everything (unknown routes, malformed requests Jetty itself rejects), and one INFO log line per
 * request.
 *
 * <pre>{@code
 * try (HttpApiServer server = HttpApiServer.builder(operations).port(0).start()) {
 *     URI base = server.uri();
 * }
 * }</pre>
 *
 * <p>How it stays up under slow and many clients:
 * <ul>
 *   <li>Headers and bodies are read by Jetty's non-blocking I/O: a client that sends slowly holds a connection, not
 *       a thread. The body is gathered before the operation runs (up to the body limit) and a connection silent for
 *       the {@linkplain Builder#idleTimeout idle timeout} is closed, whether it is sending headers, a body, or
 *       nothing.</li>
 *   <li>Operations (commands, file operations, create, …) run on their own pool of {@linkplain Builder#threads
 *       threads}, apart from Jetty's I/O threads; at most {@linkplain Builder#maxRequestsPerClient n} of one client
 *       (remote address) at once, the rest wait their turn holding no thread. {@code /health} and
 *       {@code /openapi.json} are answered on the I/O threads and never wait for that pool.</li>
 *   <li>At most {@linkplain Builder#maxConnections n} connections are open; past that Jetty stops accepting until
 *       one closes.</li>
 * </ul>
 *
 * <p>Extra servlets (the MCP transport) are mounted under a path with {@link Builder#mount}; they get the same
 * bearer-token check and body limit, and are served before the API routes.
 *
 * {@link #close()} stops the listener and the pool; it does not close the {@link Operations}.
 */
public final class HttpApiServer implements AutoCloseable {
    /** Default request-body limit: 256 MiB (a 100 MiB file is ~134 MiB as base64 JSON). */
    public static final long DEFAULT_MAX_BODY_BYTES = 256L * 1024 * 1024;
    /** Default size of the operations pool: how many operations (commands, file operations, …) run at once. */
    public static final int DEFAULT_THREADS = 256;
    /** Default bound on operations of one client (remote address) running at once. */
    public static final int DEFAULT_MAX_REQUESTS_PER_CLIENT = 64;
    /** Default bound on open connections. */
    public static final int DEFAULT_MAX_CONNECTIONS = 4096;
    /** Default idle timeout: a connection that sends nothing (headers, body) and receives nothing for this long is closed. */
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(30);
    private static final String OPENAPI_RESOURCE = "/dev/derrick/server/openapi.json";
    private static final Logger log = LoggerFactory.getLogger("dev.derrick.server.http");

    private final Operations operations;
    private final RequestChecks checks;
    private final long maxBodyBytes;
    private final Redactor redactor;
    private final Server server;
    private final ServerConnector connector;
    private final InetAddress bind;
    private final ThreadPoolExecutor pool;
    private final ClientGate gate;
    private final byte[] openApi = openApiDocument();
    private final AtomicBoolean closed = new AtomicBoolean();

    private HttpApiServer(Builder b) throws IOException {
        this.operations = b.operations;
        this.checks = new RequestChecks(b.apiToken, b.maxBodyBytes);
        this.maxBodyBytes = b.maxBodyBytes;
        this.bind = b.bind;
        this.redactor = b.redactor == null ? new Redactor() : b.redactor;
        if (b.apiToken != null) {
            redactor.add(b.apiToken);
        }
        AtomicInteger n = new AtomicInteger();
        ThreadFactory threads = r -> {
            Thread t = new Thread(r, "derrick-op-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        this.pool = new ThreadPoolExecutor(b.threads, b.threads, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                threads, new ThreadPoolExecutor.AbortPolicy());
        pool.allowCoreThreadTimeOut(true);
        this.gate = new ClientGate(pool, b.maxRequestsPerClient);

        QueuedThreadPool io = new QueuedThreadPool(200, 4);
        io.setName("derrick-http");
        io.setDaemon(true);
        this.server = new Server(io);
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        http.setSendXPoweredBy(false);
        // The router sees the raw path and answers anything it does not know (//workspaces, %2F, ..) with a JSON
        // 404; Jetty's own checks would answer some of those with a 400 before it.
        http.setUriCompliance(UriCompliance.LEGACY);
        this.connector = new ServerConnector(server, 1, 1, new HttpConnectionFactory(http));
        connector.setHost(b.bind.getHostAddress());
        connector.setPort(b.port);
        connector.setIdleTimeout(b.idleTimeout.toMillis());
        connector.setAcceptQueueSize(256);
        connector.setReuseAddress(true);
        server.addConnector(connector);
        server.addBean(new ConnectionLimit(b.maxConnections, connector));
        server.setErrorHandler(new JsonErrorHandler());
        server.setStopTimeout(0);

        List<Handler> handlers = new ArrayList<>();
        for (Map.Entry<String, Servlet> m : b.mounts.entrySet()) {
            ServletContextHandler context = new ServletContextHandler(m.getKey());
            context.setAllowNullPathInContext(true); // "/mcp" itself, not a redirect to "/mcp/"
            ServletHolder holder = new ServletHolder(m.getValue());
            holder.setAsyncSupported(true); // the MCP transport answers with server-sent events
            context.addServlet(holder, "/*");
            context.setErrorHandler(new JsonErrorHandler());
            handlers.add(new GuardedContext(context, checks, redactor));
        }
        handlers.add(new ApiHandler());
        server.setHandler(new Handler.Sequence(handlers));
        try {
            server.start();
        } catch (Exception e) {
            stopQuietly();
            for (Throwable c = e; c != null; c = c.getCause()) {
                if (c instanceof BindException) {
                    throw new BindException(c.getMessage());
                }
            }
            if (e instanceof IOException io2) {
                throw io2;
            }
            throw new IOException("cannot start the HTTP server: " + e.getMessage(), e);
        }
    }

    /** A builder serving {@code operations}. */
    public static Builder builder(Operations operations) {
        return new Builder(operations);
    }

    /** The bound address (with the real port when started on port 0). */
    public InetSocketAddress address() {
        return new InetSocketAddress(bind, connector.getLocalPort());
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

    /** The API routes: routing and auth on the I/O thread, the body gathered without blocking, the operation on the pool. */
    private final class ApiHandler extends Handler.Abstract {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            new Exchange(request, response, callback).begin();
            return true;
        }
    }

    /** One request/response of the API. */
    private final class Exchange implements ClientGate.Task {
        private final long start = System.nanoTime();
        private final Request request;
        private final Response response;
        private final Callback callback;
        private final String method;
        private final String path;
        private final BodyBuffer body = new BodyBuffer();
        private Route matched;
        private String id;
        private String pid;
        private OutputStreamer streamer;

        Exchange(Request request, Response response, Callback callback) {
            this.request = request;
            this.response = response;
            this.callback = callback;
            this.method = request.getMethod();
            this.path = request.getHttpURI().getPath() == null ? "/" : request.getHttpURI().getPath();
        }

        void begin() {
            try {
                Reply early = route();
                if (early != null || matched.operation() == null || matched.operation() == Operation.HEALTH) {
                    // answered without reading the body: a client must not reuse the connection (Jetty closes it
                    // when it cannot skip the unread rest)
                    if (request.getLength() != 0 && request.getHeaders().contains(HttpHeader.CONTENT_LENGTH)
                            || request.getHeaders().contains(HttpHeader.TRANSFER_ENCODING)) {
                        response.getHeaders().put(HttpHeader.CONNECTION, HttpHeaderValue.CLOSE.asString());
                    }
                }
                if (early != null) {
                    send(early);
                } else if (matched.operation() == null) {
                    send(new Reply(200, Reply.JSON, openApi, null));
                } else if (matched.operation() == Operation.HEALTH) {
                    send(operations.handle(Operation.HEALTH, null, InputStream.nullInputStream()));
                } else {
                    if (OutputStreamer.wants(request) && OutputStreamer.streams(matched.operation())) {
                        streamer = new OutputStreamer(response);
                    }
                    readBody();
                }
            } catch (RuntimeException e) {
                send(internal(e));
            }
        }

        private Reply route() {
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
                    response.getHeaders().put(HttpHeader.ALLOW, String.join(", ", allowed));
                    return Reply.error(WireError.of(405, WireError.METHOD_NOT_ALLOWED,
                            method + " is not allowed on " + path + "; allowed: " + String.join(", ", allowed)));
                }
                return notFound(method, path);
            }
            if (!"/health".equals(matched.template()) && !checks.authorized(request)) {
                return RequestChecks.unauthorized(response);
            }
            Reply tooLarge = checks.declaredTooLarge(request, response);
            if (tooLarge != null) {
                return tooLarge;
            }
            return null;
        }

        /** Gathers the body as Jetty delivers it; no thread waits for a slow client. */
        private void readBody() {
            while (true) {
                Content.Chunk chunk = request.read();
                if (chunk == null) {
                    request.demand(this::readBody);
                    return;
                }
                if (Content.Chunk.isFailure(chunk)) {
                    Throwable failure = chunk.getFailure();
                    response.getHeaders().put(HttpHeader.CONNECTION, HttpHeaderValue.CLOSE.asString());
                    if (failure instanceof TimeoutException) {
                        send(Reply.error(WireError.of(408, WireError.INVALID_REQUEST, "the request body did not arrive"
                                + " within the idle timeout")));
                    } else {
                        send(Reply.error(WireError.of(400, WireError.INVALID_REQUEST, "cannot read the request body: "
                                + redactor.redact(String.valueOf(failure.getMessage())))));
                    }
                    return;
                }
                ByteBuffer bytes = chunk.getByteBuffer();
                if (body.size() + bytes.remaining() > maxBodyBytes) {
                    chunk.release();
                    response.getHeaders().put(HttpHeader.CONNECTION, HttpHeaderValue.CLOSE.asString());
                    send(Reply.error(WireError.of(413, WireError.PAYLOAD_TOO_LARGE, "request body is larger than the"
                            + " limit of " + maxBodyBytes + " bytes")));
                    return;
                }
                body.append(bytes);
                boolean last = chunk.isLast();
                chunk.release();
                if (last) {
                    gate.submit(Request.getRemoteAddr(request), this);
                    return;
                }
            }
        }

        /** On the operations pool. */
        @Override
        public void run() {
            Reply reply;
            try {
                reply = operations.handle(matched.operation(), matched.operation().needsWorkspace() ? id : null, pid,
                        body.stream(), streamer);
            } catch (RuntimeException e) {
                reply = internal(e);
            }
            if (reply.status() == 413) {
                response.getHeaders().put(HttpHeader.CONNECTION, HttpHeaderValue.CLOSE.asString());
            }
            if (streamer != null && streamer.started()) {
                try {
                    streamer.finish(reply);
                    done(reply, null);
                } catch (IOException | RuntimeException e) {
                    done(reply, e);
                }
            } else {
                send(reply);
            }
        }

        @Override
        public void rejected() {
            send(Reply.error(WireError.of(503, WireError.PROVIDER_UNAVAILABLE, "the server is shutting down")));
        }

        private Reply internal(RuntimeException e) {
            log.error("unexpected failure for {} {}", method, redactor.redact(path), e);
            return Reply.error(WireError.of(500, WireError.INTERNAL, "internal error: "
                    + redactor.redact(String.valueOf(e))));
        }

        private void send(Reply reply) {
            try {
                response.setStatus(reply.status());
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, reply.contentType());
                byte[] bytes = reply.body();
                response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
                response.write(true, ByteBuffer.wrap(bytes), Callback.from(() -> done(reply, null),
                        failure -> done(reply, failure)));
            } catch (RuntimeException e) {
                done(reply, e);
            }
        }

        private void done(Reply reply, Throwable failure) {
            boolean streamed = streamer != null && streamer.started();
            long ms = (System.nanoTime() - start) / 1_000_000;
            String line = method + " " + redactor.redact(path) + " " + reply.status() + " " + ms + " ms"
                    + (reply.isError() ? " (" + reply.errorCode() + ")" : "")
                    + (streamed ? " (streamed " + streamer.count() + " chunks)" : "");
            if (reply.status() >= 500 && reply.status() != 501) {
                log.warn(line);
            } else {
                log.info(line);
            }
            if (failure == null) {
                callback.succeeded();
            } else {
                log.debug("could not send the reply of {} {}: {}", method, redactor.redact(path), failure.toString());
                callback.failed(failure);
            }
        }
    }

    private static Reply notFound(String method, String path) {
        return Reply.error(WireError.of(404, WireError.NOT_FOUND, "no route " + method + " " + path
                + "; see GET /openapi.json"));
    }

    private void stopQuietly() {
        try {
            server.stop();
        } catch (Exception e) {
            log.debug("stopping the HTTP server: {}", e.toString());
        }
        pool.shutdownNow();
    }

    /** Stops listening (in-flight exchanges are cut) and ends the operation threads. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            stopQuietly();
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
        private int maxRequestsPerClient = DEFAULT_MAX_REQUESTS_PER_CLIENT;
        private int maxConnections = DEFAULT_MAX_CONNECTIONS;
        private Duration idleTimeout = DEFAULT_IDLE_TIMEOUT;
        private Redactor redactor;
        private final Map<String, Servlet> mounts = new LinkedHashMap<>();

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

        /** The operations pool: how many operations run at once (a running command holds one thread). */
        public Builder threads(int count) {
            this.threads = count;
            return this;
        }

        /** How many operations of one client (remote address) run at once; later ones wait their turn. */
        public Builder maxRequestsPerClient(int count) {
            this.maxRequestsPerClient = count;
            return this;
        }

        /** How many connections may be open; past that the server accepts no more until one closes. */
        public Builder maxConnections(int count) {
            this.maxConnections = count;
            return this;
        }

        /** A connection with no traffic either way for this long is closed (slow headers, slow bodies, idle keep-alive). */
        public Builder idleTimeout(Duration timeout) {
            this.idleTimeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        public Builder redactor(Redactor r) {
            this.redactor = r;
            return this;
        }

        /**
         * Serves {@code servlet} at {@code path} and below (for example the MCP transport at {@code /mcp}), ahead of
         * the API routes, behind the same bearer token and body limit. The servlet sees {@code path} as its context
         * path.
         */
        public Builder mount(String path, Servlet servlet) {
            if (path == null || !path.startsWith("/") || path.length() < 2 || path.endsWith("/")) {
                throw new IllegalArgumentException("mount path must look like /name, got " + path);
            }
            mounts.put(path, Objects.requireNonNull(servlet, "servlet"));
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
            if (threads < 1 || maxBodyBytes < 1 || maxRequestsPerClient < 1 || maxConnections < 1) {
                throw new IllegalArgumentException("threads, maxBodyBytes, maxRequestsPerClient and maxConnections"
                        + " must be positive");
            }
            if (idleTimeout.isNegative() || idleTimeout.isZero()) {
                throw new IllegalArgumentException("idleTimeout must be positive");
            }
            if (!bind.isLoopbackAddress() && (apiToken == null || apiToken.isEmpty())) {
                throw new IllegalArgumentException("refusing to listen on " + bind.getHostAddress()
                        + " without an API token: set DERRICK_API_TOKEN, or bind to 127.0.0.1");
            }
            return new HttpApiServer(this);
        }
    }
}
