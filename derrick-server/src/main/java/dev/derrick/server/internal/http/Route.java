package dev.derrick.server.internal.http;

import dev.derrick.server.internal.Operation;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

/**
 * One HTTP route: a method, a path template with at most one {@code {id}} segment, and the operation it runs
 * ({@code null} for the OpenAPI document, which the HTTP layer serves itself).
 */
public record Route(String method, String template, Operation operation) {
    /** Every route the HTTP server registers; {@code RoutesMatchOpenApiTest} checks them against openapi.json. */
    public static final List<Route> ALL = List.of(
            new Route("GET", "/health", Operation.HEALTH),
            new Route("GET", "/workspaces", Operation.LIST),
            new Route("POST", "/workspaces", Operation.CREATE),
            new Route("GET", "/workspaces/{id}", Operation.INFO),
            new Route("DELETE", "/workspaces/{id}", Operation.DELETE),
            new Route("POST", "/workspaces/{id}/cmd", Operation.CMD),
            new Route("POST", "/workspaces/{id}/cmd_with_output", Operation.CMD_WITH_OUTPUT),
            new Route("POST", "/workspaces/{id}/write_file", Operation.WRITE_FILE),
            new Route("POST", "/workspaces/{id}/read_file", Operation.READ_FILE),
            new Route("POST", "/workspaces/{id}/list_files", Operation.LIST_FILES),
            new Route("POST", "/workspaces/{id}/fetch", Operation.FETCH),
            new Route("POST", "/workspaces/{id}/reset", Operation.RESET),
            new Route("POST", "/workspaces/{id}/checkpoint", Operation.CHECKPOINT),
            new Route("POST", "/workspaces/{id}/restore", Operation.RESTORE),
            new Route("GET", "/openapi.json", null));

    /** The route's path matched against a request path: the {@code {id}} segment's value, or empty for no match. */
    Optional<String> match(String path) {
        String[] want = split(template);
        String[] got = split(path);
        if (want.length != got.length) {
            return Optional.empty();
        }
        String id = "";
        for (int i = 0; i < want.length; i++) {
            if (want[i].equals("{id}")) {
                String value = URLDecoder.decode(got[i], StandardCharsets.UTF_8);
                if (value.isEmpty()) {
                    return Optional.empty();
                }
                id = value;
            } else if (!want[i].equals(got[i])) {
                return Optional.empty();
            }
        }
        return Optional.of(id);
    }

    private static String[] split(String path) {
        String p = path.startsWith("/") ? path.substring(1) : path;
        if (p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p.split("/", -1);
    }
}
