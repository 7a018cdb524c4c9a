package dev.derrick.server.internal.http;

import dev.derrick.server.internal.Operation;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

/**
 * One HTTP route: a method, a path template with at most one {@code {id}} (workspace) and one {@code {pid}}
 * (background process) segment, and the operation it runs ({@code null} for the OpenAPI document, which the HTTP
 * layer serves itself).
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
            new Route("POST", "/workspaces/{id}/stat", Operation.STAT),
            new Route("POST", "/workspaces/{id}/list_recursive", Operation.LIST_RECURSIVE),
            new Route("POST", "/workspaces/{id}/delete_file", Operation.DELETE_FILE),
            new Route("POST", "/workspaces/{id}/move_file", Operation.MOVE_FILE),
            new Route("POST", "/workspaces/{id}/mkdir", Operation.MKDIR),
            new Route("POST", "/workspaces/{id}/edit_file", Operation.EDIT_FILE),
            new Route("POST", "/workspaces/{id}/diff", Operation.DIFF),
            new Route("GET", "/workspaces/{id}/processes", Operation.PROCESSES),
            new Route("GET", "/workspaces/{id}/processes/{pid}", Operation.PROCESS_INFO),
            new Route("POST", "/workspaces/{id}/processes/{pid}/output", Operation.PROCESS_OUTPUT),
            new Route("POST", "/workspaces/{id}/processes/{pid}/stdin", Operation.PROCESS_STDIN),
            new Route("POST", "/workspaces/{id}/processes/{pid}/wait", Operation.PROCESS_WAIT),
            new Route("POST", "/workspaces/{id}/processes/{pid}/kill", Operation.PROCESS_KILL),
            new Route("GET", "/openapi.json", null));

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
