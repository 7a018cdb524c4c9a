package dev.derrick.remote.internal;

import java.util.Locale;

/**
 * The operations of a derrick agent, with their HTTP method and path and their NATS subject token. The bodies are
 * the same JSON on both transports (see DESIGN.md, HTTP API).
 */
public enum Op {
    CREATE("POST", "/workspaces"),
    LIST("GET", "/workspaces"),
    INFO("GET", "/workspaces/{id}"),
    DELETE("DELETE", "/workspaces/{id}"),
    CMD("POST", "/workspaces/{id}/cmd"),
    CMD_WITH_OUTPUT("POST", "/workspaces/{id}/cmd_with_output"),
    WRITE_FILE("POST", "/workspaces/{id}/write_file"),
    READ_FILE("POST", "/workspaces/{id}/read_file"),
    LIST_FILES("POST", "/workspaces/{id}/list_files"),
    FETCH("POST", "/workspaces/{id}/fetch"),
    RESET("POST", "/workspaces/{id}/reset"),
    CHECKPOINT("POST", "/workspaces/{id}/checkpoint"),
    RESTORE("POST", "/workspaces/{id}/restore"),
    STAT("POST", "/workspaces/{id}/stat"),
    LIST_RECURSIVE("POST", "/workspaces/{id}/list_recursive"),
    DELETE_FILE("POST", "/workspaces/{id}/delete_file"),
    MOVE_FILE("POST", "/workspaces/{id}/move_file"),
    MKDIR("POST", "/workspaces/{id}/mkdir"),
    EDIT_FILE("POST", "/workspaces/{id}/edit_file"),
    DIFF("POST", "/workspaces/{id}/diff"),
    PROCESSES("GET", "/workspaces/{id}/processes"),
    PROCESS_INFO("GET", "/workspaces/{id}/processes/{pid}"),
    PROCESS_OUTPUT("POST", "/workspaces/{id}/processes/{pid}/output"),
    PROCESS_STDIN("POST", "/workspaces/{id}/processes/{pid}/stdin"),
    PROCESS_WAIT("POST", "/workspaces/{id}/processes/{pid}/wait"),
    PROCESS_KILL("POST", "/workspaces/{id}/processes/{pid}/kill");

    private final String method;
    private final String pathTemplate;

    Op(String method, String pathTemplate) {
        this.method = method;
        this.pathTemplate = pathTemplate;
    }

    public String method() {
        return method;
    }

    /** The HTTP path for a workspace id (ignored for operations without one). */
    public String path(String workspaceId) {
        return pathTemplate.replace("{id}", workspaceId == null ? "" : java.net.URLEncoder.encode(workspaceId,
                java.nio.charset.StandardCharsets.UTF_8));
    }

    /** The HTTP path for a workspace id and a process id. */
    public String path(String workspaceId, String processId) {
        return path(workspaceId).replace("{pid}", processId == null ? "" : java.net.URLEncoder.encode(processId,
                java.nio.charset.StandardCharsets.UTF_8));
    }

    /** Whether the operation addresses one background process of a workspace. */
    public boolean perProcess() {
        return pathTemplate.contains("{pid}");
    }

    /** Whether the operation addresses one workspace. */
    public boolean perWorkspace() {
        return pathTemplate.contains("{id}");
    }

    /** The NATS subject token, e.g. {@code cmd_with_output}. */
    public String token() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The operation of a NATS subject token, or {@code null}. */
    public static Op ofToken(String token) {
        for (Op op : values()) {
            if (op.token().equals(token)) {
                return op;
            }
        }
        return null;
    }
}
