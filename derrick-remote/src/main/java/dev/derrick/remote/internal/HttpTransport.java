package dev.derrick.remote.internal;

import dev.derrick.core.protocol.Operation;
import com.fasterxml.jackson.databind.JsonNode;
import dev.derrick.api.DerrickException;
import dev.derrick.api.OutputListener;
import dev.derrick.api.ProviderUnavailableException;
import dev.derrick.api.StreamKind;
import dev.derrick.core.json.Json;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.Optional;

/** The {@code remote_http} transport: the HTTP API of one derrick server, with its bearer token. */
public final class HttpTransport implements Transport {
    private static final String NDJSON = "application/x-ndjson";
    private final URI base;
    private final String token;
    private final HttpClient client;
    private final Duration requestTimeout;

    public HttpTransport(URI base, String token, Duration connectTimeout, Duration requestTimeout) {
        String b = base.toString();
        this.base = URI.create(b.endsWith("/") ? b.substring(0, b.length() - 1) : b);
        this.token = token;
        this.requestTimeout = requestTimeout;
        this.client = HttpClient.newBuilder().connectTimeout(connectTimeout).version(HttpClient.Version.HTTP_1_1).build();
    }

    @Override
    public RemoteReply call(Operation op, RemoteRef ref, String processId, byte[] body, Duration timeout) {
        return call(op, ref, processId, body, timeout, null);
    }

    @Override
    public RemoteReply call(Operation op, RemoteRef ref, byte[] body, Duration timeout, OutputListener listener) {
        return call(op, ref, null, body, timeout, listener);
    }

    private RemoteReply call(Operation op, RemoteRef ref, String processId, byte[] body, Duration timeout, OutputListener listener) {
        URI uri = URI.create(base + op.path(ref == null ? null : ref.id(), processId));
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(timeout)
                .header("Content-Type", "application/json")
                .header("Accept", "application/json, application/octet-stream");
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        switch (op.method()) {
            case "GET" -> b.GET();
            case "DELETE" -> b.DELETE();
            default -> b.POST(HttpRequest.BodyPublishers.ofByteArray(body));
        }
        if ((op == Operation.CMD || op == Operation.CMD_WITH_OUTPUT) && listener != null && listener != OutputListener.NONE) {
            b.setHeader("Accept", NDJSON + ", application/json");
            return sendStreaming(b.build(), op, listener, timeout);
        }
        return send(b.build(), op);
    }

    /**
     * Sends a command asking for its output as it runs (see the server's README: {@code Accept:
     * application/x-ndjson}): output lines go to {@code listener}, the last line is the reply. A server that does not
     * stream (an older one, or a command that printed nothing) answers as usual; the reply's stream count is then
     * {@code -1}, so the output is handed to the listener from the result.
     */
    private RemoteReply sendStreaming(HttpRequest request, Operation op, OutputListener listener, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        HttpResponse<InputStream> r = exchange(request, op, HttpResponse.BodyHandlers.ofInputStream());
        String type = r.headers().firstValue("Content-Type").orElse("");
        // the request timeout covers the wait for the headers only: the rest of a streamed reply gets what is left
        AtomicBoolean late = new AtomicBoolean();
        InputStream body = r.body();
        CompletableFuture<Void> watchdog = CompletableFuture.runAsync(() -> {
            late.set(true);
            try {
                body.close();
            } catch (IOException ignored) {
                // closing is all we want
            }
        }, CompletableFuture.delayedExecutor(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
        int count = 0;
        try (InputStream in = body) {
            if (r.statusCode() != 200 || !type.toLowerCase(java.util.Locale.ROOT).startsWith(NDJSON)) {
                RemoteReply plain = plain(r.statusCode(), in.readAllBytes());
                return new RemoteReply(plain.status(), plain.body(), null, -1);
            }
            BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode n = Json.mapper().readTree(line);
                if (n.has("chunk")) {
                    count++;
                    StreamKind kind = "stderr".equals(n.path("stream").asText()) ? StreamKind.STDERR : StreamKind.STDOUT;
                    try {
                        listener.onOutput(kind, n.path("chunk").asText());
                    } catch (RuntimeException e) {
                        // a failing listener must not break the command; it simply stops mattering
                    }
                } else if (n.has("result")) {
                    return new RemoteReply(200, Json.mapper().writeValueAsBytes(n.get("result")), null, count);
                } else if (n.has("error")) {
                    return new RemoteReply(n.path("status").asInt(500), Json.mapper().writeValueAsBytes(n.get("error")),
                            null, count);
                }
            }
            throw late.get() ? late(op, count) : new ProviderUnavailableException("derrick server at " + base
                    + " ended the streamed reply of " + op.wireName() + " without a result (after " + count
                    + " output chunks)");
        } catch (IOException e) {
            if (late.get()) {
                throw late(op, count);
            }
            throw new ProviderUnavailableException("derrick server at " + base + " failed while streaming "
                    + op.wireName() + ": " + e, e);
        } finally {
            watchdog.cancel(false);
        }
    }

    private ProviderUnavailableException late(Operation op, int chunks) {
        return new ProviderUnavailableException("no complete reply to " + op.wireName() + " from the derrick server at "
                + base + " in time" + (chunks > 0 ? " (" + chunks + " output chunks arrived)" : ""));
    }

    private RemoteReply send(HttpRequest request, Operation op) {
        HttpResponse<byte[]> r = exchange(request, op, HttpResponse.BodyHandlers.ofByteArray());
        return plain(r.statusCode(), r.body());
    }

    private RemoteReply plain(int status, byte[] body) {
        if (status == 401) {
            return new RemoteReply(401, ("{\"error\":\"unauthorized\",\"message\":\"derrick server at " + base
                    + " refused the API token (set the provider option 'token' or DERRICK_API_TOKEN)\"}").getBytes());
        }
        return new RemoteReply(status, body);
    }

    private <T> HttpResponse<T> exchange(HttpRequest request, Operation op, HttpResponse.BodyHandler<T> handler) {
        try {
            return client.send(request, handler);
        } catch (HttpTimeoutException e) {
            throw new ProviderUnavailableException("no reply to " + op.wireName() + " from the derrick server at " + base
                    + " in time", e);
        } catch (ConnectException e) {
            throw new ProviderUnavailableException("no derrick server at " + base + ": connection refused", e);
        } catch (IOException e) {
            throw new ProviderUnavailableException("derrick server at " + base + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DerrickException("interrupted while waiting for " + base, e);
        }
    }

    /** Whether the server has a workspace with this id. */
    public Optional<RemoteRef> locate(String workspaceId) {
        RemoteReply r = call(Operation.INFO, new RemoteRef(workspaceId, null), RemoteWire.EMPTY, requestTimeout, null);
        return r.ok() ? Optional.of(new RemoteRef(workspaceId, null)) : Optional.empty();
    }

    /** GET /health answered {@code healthy}. */
    public boolean healthy() {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/health")).timeout(requestTimeout).GET();
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        RemoteReply r = send(b.build(), Operation.LIST);
        if (r.status() == 401) {
            RemoteWire.check(r, Operation.LIST, null);
        }
        return r.ok();
    }

    @Override
    public String describe() {
        return base.toString();
    }

    @Override
    public void close() {
        // java.net.http.HttpClient has no close() before Java 21; its threads are daemons
    }
}
