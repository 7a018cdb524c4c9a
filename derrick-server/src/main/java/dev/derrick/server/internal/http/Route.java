package dev.derrick.server.internal.http;

import dev.derrick.core.protocol.Operation;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * One HTTP route: a method, a path template with at most one {@code {id}} (workspace) and one {@code {pid}}
 * (background process) segment, and the operation it runs ({@code null} for the OpenAPI document, which the HTTP
 * layer serves itself).
 */
public record Route(String method, String template, Operation operation) {
    /**
     * Every route the HTTP server registers: one per {@link Operation} (the shared operation table), plus the OpenAPI
     * document. {@code RoutesMatchOpenApiTest} checks them against openapi.json.
     */
    public static final List<Route> ALL = Stream.concat(
            Arrays.stream(Operation.values()).map(op -> new Route(op.method(), op.route(), op)),
            Stream.of(new Route("GET", "/openapi.json", null))).toList();

    /** The values of a matched path's {@code {id}} and {@code {pid}} segments ({@code ""} when absent). */
    public record Params(String id, String pid) {
    }

    /** The route's path matched against a request path: the {@code {id}} segment's value, or empty for no match. */
    Optional<String> match(String path) {
        return params(path).map(Params::id);
    }

    /** The route's path matched against a request path: its parameters, or empty for no match. */
    public Optional<Params> params(String path) {
        String[] want = split(template);
        String[] got = split(path);
        if (want.length != got.length) {
            return Optional.empty();
        }
        String id = "";
        String pid = "";
        for (int i = 0; i < want.length; i++) {
            if (want[i].equals("{id}") || want[i].equals("{pid}")) {
                String value = URLDecoder.decode(got[i], StandardCharsets.UTF_8);
                if (value.isEmpty()) {
                    return Optional.empty();
                }
                if (want[i].equals("{id}")) {
                    id = value;
                } else {
                    pid = value;
                }
            } else if (!want[i].equals(got[i])) {
                return Optional.empty();
            }
        }
        return Optional.of(new Params(id, pid));
    }

    private static String[] split(String path) {
        String p = path.startsWith("/") ? path.substring(1) : path;
        if (p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p.split("/", -1);
    }
}
