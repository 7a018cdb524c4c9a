package dev.derrick.remote.http;

import dev.derrick.api.ProviderUnavailableException;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.spi.Availability;
import dev.derrick.api.spi.ProviderOptions;
import dev.derrick.api.spi.WorkspaceProviderFactory;
import dev.derrick.remote.internal.HttpTransport;
import dev.derrick.remote.internal.RemoteProvider;

import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Set;

/**
 * {@code remote_http}: workspaces on one derrick server ({@code derrick -s http}) through its HTTP API. Options:
 * {@code url} (default {@code http://127.0.0.1:50080}), {@code token} (default {@code $DERRICK_API_TOKEN}),
 * {@code request_timeout} (30 s), {@code create_timeout} (15 min), {@code exec_timeout} (10 min),
 * {@code connect_timeout} (5 s).
 */
public final class RemoteHttpProviderFactory implements WorkspaceProviderFactory {
    public static final String NAME = "remote_http";
    private static final Set<String> OPTIONS = Set.of("url", "token", "request_timeout", "create_timeout",
            "exec_timeout", "connect_timeout");

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "workspaces on a derrick HTTP server";
    }

    @Override
    public Set<String> supportedOptions() {
        return OPTIONS;
    }

    @Override
    public Availability probe(Map<String, ?> options) {
        try {
            HttpTransport t = transport(ProviderOptions.of(NAME, options, OPTIONS));
            return t.healthy() ? Availability.yes("derrick server at " + t.describe())
                    : Availability.no("derrick server at " + t.describe() + " is not healthy");
        } catch (RuntimeException e) {
            return Availability.no(e.getMessage());
        }
    }

    @Override
    public WorkspaceProvider open(Map<String, ?> options) {
        ProviderOptions o = ProviderOptions.of(NAME, options, OPTIONS);
        HttpTransport transport = transport(o);
        if (!transport.healthy()) {
            throw new ProviderUnavailableException("derrick server at " + transport.describe() + " is not healthy");
        }
        return new RemoteProvider(NAME, transport, o.duration("request_timeout", Duration.ofSeconds(30)),
                o.duration("create_timeout", Duration.ofMinutes(15)), o.duration("exec_timeout", Duration.ofMinutes(10)),
                true, transport::locate);
    }

    private static HttpTransport transport(ProviderOptions o) {
        String url = o.string("url", "http://127.0.0.1:50080");
        URI uri;
        try {
            uri = URI.create(url);
            if (uri.getScheme() == null || !uri.getScheme().matches("https?") || uri.getHost() == null) {
                throw new IllegalArgumentException("not an http(s) URL");
            }
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("option 'url' of provider '" + NAME + "' must be an http(s) URL, got '"
                    + url + "'");
        }
        String env = System.getenv("DERRICK_API_TOKEN");
        String token = o.string("token").orElse(env == null || env.isBlank() ? null : env);
        return new HttpTransport(uri, token, o.duration("connect_timeout", Duration.ofSeconds(5)),
                o.duration("request_timeout", Duration.ofSeconds(30)));
    }
}
