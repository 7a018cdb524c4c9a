package dev.derrick.remote.internal;

import dev.derrick.api.DerrickException;
import dev.derrick.api.OutputListener;
import dev.derrick.api.ProviderUnavailableException;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.Optional;

/** The {@code remote_http} transport: the HTTP API of one derrick server, with its bearer token. */
public final class HttpTransport implements Transport {
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
    public Reply call(Op op, RemoteRef ref, byte[] body, Duration timeout, OutputListener listener) {
        URI uri = URI.create(base + op.path(ref == null ? null : ref.id()));
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
        return send(b.build(), op);
    }

    private Reply send(HttpRequest request, Op op) {
        try {
            HttpResponse<byte[]> r = client.send(request, HttpResponse.BodyHandlers.ofByteArray());
            if (r.statusCode() == 401) {
                return new Reply(401, ("{\"error\":\"unauthorized\",\"message\":\"derrick server at " + base
                        + " refused the API token (set the provider option 'token' or DERRICK_API_TOKEN)\"}").getBytes());
            }
            return new Reply(r.statusCode(), r.body());
        } catch (HttpTimeoutException e) {
            throw new ProviderUnavailableException("no reply to " + op.token() + " from the derrick server at " + base
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
        Reply r = call(Op.INFO, new RemoteRef(workspaceId, null), Wire.EMPTY, requestTimeout, null);
        return r.ok() ? Optional.of(new RemoteRef(workspaceId, null)) : Optional.empty();
    }

    /** GET /health answered {@code healthy}. */
    public boolean healthy() {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/health")).timeout(requestTimeout).GET();
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        Reply r = send(b.build(), Op.LIST);
        if (r.status() == 401) {
            Wire.check(r, Op.LIST, null);
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
