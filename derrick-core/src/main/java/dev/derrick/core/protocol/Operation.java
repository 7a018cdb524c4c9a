package dev.derrick.core.protocol;

import dev.derrick.core.wire.Wire;
import dev.derrick.core.wire.WireError;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Optional;

/**
 * The protocol of a derrick agent, defined once: every operation with its HTTP method and route, its NATS subject
 * token ({@link #wireName()}, see {@link NatsProtocol#agentSubject}), and the JSON types of its request and reply
 * ({@link Wire}). The HTTP server, the NATS agent, the HTTP client and the NATS client all read this table.
 *
 * <p>Errors are the same for every operation: a non-2xx status with a {@link WireError.Body} whose {@code error}
 * is one of the {@link WireError} codes (its class documentation is the table of codes and statuses).
 */
public enum Operation {
    HEALTH("GET", "/health", null, Wire.Health.class),
    LIST("GET", "/workspaces", null, Wire.WorkspaceList.class),
    CREATE("POST", "/workspaces", Wire.CreateBody.class, Wire.IdReply.class),
    INFO("GET", "/workspaces/{id}", null, Wire.WorkspaceInfoBody.class),
    DELETE("DELETE", "/workspaces/{id}", null, Boolean.class),
    CMD("POST", "/workspaces/{id}/cmd", Wire.CmdBody.class, Wire.CmdResult.class),
    CMD_WITH_OUTPUT("POST", "/workspaces/{id}/cmd_with_output", Wire.CmdBody.class, Wire.CmdResult.class),
    WRITE_FILE("POST", "/workspaces/{id}/write_file", Wire.WriteFileBody.class, Wire.Success.class),
    /** The reply is the file's raw bytes ({@code application/octet-stream}). */
    READ_FILE("POST", "/workspaces/{id}/read_file", Wire.ReadFileBody.class, byte[].class),
    LIST_FILES("POST", "/workspaces/{id}/list_files", Wire.ListFilesBody.class, Wire.FileList.class),
    FETCH("POST", "/workspaces/{id}/fetch", null, Wire.FetchReply.class),
    RESET("POST", "/workspaces/{id}/reset", null, Wire.Success.class),
    CHECKPOINT("POST", "/workspaces/{id}/checkpoint", null, Wire.CheckpointReply.class),
    RESTORE("POST", "/workspaces/{id}/restore", Wire.RestoreBody.class, Wire.Success.class),
    FORK("POST", "/workspaces/{id}/fork", Wire.ForkBody.class, Wire.ForkReply.class),
    STAT("POST", "/workspaces/{id}/stat", Wire.PathBody.class, Wire.FileStatBody.class),
    LIST_RECURSIVE("POST", "/workspaces/{id}/list_recursive", Wire.ListRecursiveBody.class, Wire.FileTree.class),
    DELETE_FILE("POST", "/workspaces/{id}/delete_file", Wire.DeleteBody.class, Wire.Success.class),
    MOVE_FILE("POST", "/workspaces/{id}/move_file", Wire.MoveBody.class, Wire.Success.class),
    MKDIR("POST", "/workspaces/{id}/mkdir", Wire.PathBody.class, Wire.Success.class),
    EDIT_FILE("POST", "/workspaces/{id}/edit_file", Wire.EditBody.class, Wire.EditReply.class),
    DIFF("POST", "/workspaces/{id}/diff", null, Wire.DiffReply.class),
    PROCESSES("GET", "/workspaces/{id}/processes", null, Wire.ProcessList.class),
    PROCESS_INFO("GET", "/workspaces/{id}/processes/{pid}", null, Wire.ProcessBody.class),
    PROCESS_OUTPUT("POST", "/workspaces/{id}/processes/{pid}/output", Wire.ProcessOutputBody.class,
            Wire.ProcessOutputReply.class),
    PROCESS_STDIN("POST", "/workspaces/{id}/processes/{pid}/stdin", Wire.StdinBody.class, Wire.Success.class),
    PROCESS_WAIT("POST", "/workspaces/{id}/processes/{pid}/wait", Wire.WaitBody.class, Wire.WaitReply.class),
    PROCESS_KILL("POST", "/workspaces/{id}/processes/{pid}/kill", null, Wire.WaitReply.class);

    private final String method;
    private final String route;
    private final Class<?> requestType;
    private final Class<?> replyType;

    Operation(String method, String route, Class<?> requestType, Class<?> replyType) {
        this.method = method;
        this.route = route;
        this.requestType = requestType;
        this.replyType = replyType;
    }

    /** The HTTP method. */
    public String method() {
        return method;
    }

    /** The HTTP route: a path template with at most one {@code {id}} and one {@code {pid}} segment. */
    public String route() {
        return route;
    }

    /** The JSON type of the request body, or {@code null} when the operation takes none (any body is ignored). */
    public Class<?> requestType() {
        return requestType;
    }

    /** The JSON type of a successful reply ({@code byte[]} for raw bytes). */
    public Class<?> replyType() {
        return replyType;
    }

    /** Whether the operation addresses one workspace by id ({@code {id}} in the route, header on NATS). */
    public boolean needsWorkspace() {
        return route.contains("{id}");
    }

    /** Whether the operation addresses one background process of the workspace by id. */
    public boolean needsProcess() {
        return route.contains("{pid}");
    }

    /** {@code cmd_with_output}, {@code write_file}, …: the NATS subject token. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The HTTP path for a workspace id (ignored for operations without one). */
    public String path(String workspaceId) {
        return route.replace("{id}", workspaceId == null ? "" : URLEncoder.encode(workspaceId, StandardCharsets.UTF_8));
    }

    /** The HTTP path for a workspace id and a process id. */
    public String path(String workspaceId, String processId) {
        return path(workspaceId).replace("{pid}", processId == null ? ""
                : URLEncoder.encode(processId, StandardCharsets.UTF_8));
    }

    /** The operation of that wire name. */
    public static Optional<Operation> byWireName(String name) {
        for (Operation op : values()) {
            if (op.wireName().equals(name)) {
                return Optional.of(op);
            }
        }
        return Optional.empty();
    }
}
