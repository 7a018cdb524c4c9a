package dev.derrick.server.internal.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.derrick.api.OutputListener;
import dev.derrick.core.Redactor;
import dev.derrick.core.json.Json;
import dev.derrick.core.protocol.Operation;
import dev.derrick.server.internal.Operations;
import dev.derrick.server.internal.Reply;
import io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification;
import io.modelcontextprotocol.server.McpSyncServerExchange;
import io.modelcontextprotocol.spec.McpSchema;
import io.modelcontextprotocol.spec.McpSchema.CallToolRequest;
import io.modelcontextprotocol.spec.McpSchema.CallToolResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayInputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * derrick's operations as MCP tools, for coding agents. Every tool call becomes one {@link Operations#handle} call
 * with the same JSON body the HTTP API takes, so MCP gets the same validation, locking, token policy and error
 * messages as HTTP and NATS. An error reply, bad arguments or a fault all come back as a tool result with
 * {@code isError: true} and a message saying what to do — never as a protocol error.
 *
 * <pre>{@code
 * McpServer.sync(transport).tools(new McpTools(operations, redactor).specifications()).build();
 * }</pre>
 */
public final class McpTools {
    /** Largest file {@code read_file} returns as text. */
    static final int MAX_READ_CHARS = 256 * 1024;
    /** Largest command output a tool result shows: its start and its end, the middle left out. */
    static final int MAX_EXEC_CHARS = 64 * 1024;
    /** Largest text of one progress notification. */
    static final int MAX_PROGRESS_CHARS = 8 * 1024;
    private static final Logger LOG = LoggerFactory.getLogger(McpTools.class);
    private static final ObjectMapper JSON = Json.mapper();
    private static final String WS = "workspace_id";

    private final Operations operations;
    private final Redactor redactor;

    public McpTools(Operations operations, Redactor redactor) {
        this.operations = operations;
        this.redactor = redactor == null ? new Redactor() : redactor;
    }

    /** Every tool, ready for {@code McpServer.sync(…).tools(…)}. */
    public List<SyncToolSpecification> specifications() {
        List<SyncToolSpecification> tools = new ArrayList<>();
        tools.add(tool("create_workspace", "Create workspace",
                "Creates a fresh, isolated workspace: the repositories of the server's workspace config are cloned"
                        + " into it and its setup script has run (served from a cache when possible, so this is"
                        + " usually fast). Returns the workspace_id that every other tool takes. Create one workspace"
                        + " per task and delete it when done.",
                schema(Map.of("env", obj("Extra environment variables for the setup script and every command, e.g."
                                + " {\"CI\": \"true\"}.", Map.of("type", "string")),
                        "config", Map.of("type", "object", "description", "Optional workspace config (derrick's"
                                + " workspace.json format: name, repositories, setup_script, env, …) replacing the"
                                + " server's own. Omit it to use the server's config.")), List.of()),
                false, false, this::create));
        tools.add(tool("list_workspaces", "List workspaces",
                "Lists the live workspaces with their ids, repositories (path, url, commit) and creation time.",
                schema(Map.of(), List.of()), true, false,
                (ex, a) -> json(operations.handle(Operation.LIST, null, body(Map.of()), OutputListener.NONE))));
        tools.add(tool("delete_workspace", "Delete workspace",
                "Deletes a workspace: ends every process in it and removes its files. Cannot be undone.",
                schema(Map.of(WS, wsProp()), List.of(WS)), false, true,
                (ex, a) -> done(operations.handle(Operation.DELETE, ws(a), body(Map.of()), OutputListener.NONE),
                        "workspace " + ws(a) + " deleted")));
        tools.add(tool("exec", "Run a command",
                "Runs a shell command in the workspace (bash -c where available, else sh -c: pipes, &&, heredocs and"
                        + " multi-line scripts work) and returns its exit code and output (stdout and stderr"
                        + " interleaved). A non-zero exit code is a normal result, not a tool error. The working"
                        + " directory is the workspace root unless working_dir says otherwise; repositories are at the"
                        + " paths list_workspaces shows. Output is streamed as progress notifications while the"
                        + " command runs. With background: true the command keeps running and the result is a"
                        + " process id for process_output / process_stdin / process_kill (for servers and watchers).",
                schema(Map.of("command", str("The shell command or script to run."),
                        WS, wsProp(),
                        "working_dir", str("Directory to run in, relative to the workspace root (or absolute inside"
                                + " the workspace). Default: the root."),
                        "env", obj("Extra environment variables for this command.", Map.of("type", "string")),
                        "timeout_seconds", Map.of("type", "number", "exclusiveMinimum", 0, "description",
                                "Kill the command (and everything it started) after this many seconds. Default: the"
                                        + " server's (30 minutes)."),
                        "background", Map.of("type", "boolean", "description", "Start the command and return at"
                                + " once with a process id instead of waiting for it.")), List.of(WS, "command")),
                false, false, this::exec));
        tools.add(tool("read_file", "Read a file",
                "Reads a UTF-8 text file from the workspace. Paths are relative to the workspace root (or absolute"
                        + " inside the workspace). Optionally only lines offset..offset+limit-1 (1-based), each"
                        + " prefixed with its line number when line numbers are asked for.",
                schema(Map.of(WS, wsProp(), "path", str("The file to read."),
                        "offset", Map.of("type", "integer", "minimum", 1, "description", "First line to return (1-based)."),
                        "limit", Map.of("type", "integer", "minimum", 1, "description", "How many lines to return."),
                        "line_numbers", Map.of("type", "boolean", "description", "Prefix every line with its number.")),
                        List.of(WS, "path")), true, false, this::readFile));
        tools.add(tool("write_file", "Write a file",
                "Writes a whole file (UTF-8), creating parent directories and replacing what was there. To change"
                        + " part of a file, use edit_file instead.",
                schema(Map.of(WS, wsProp(), "path", str("The file to write."), "content", str("The complete new content.")),
                        List.of(WS, "path", "content")), false, false,
                (ex, a) -> {
                    String content = requireString(a, "content", true);
                    return done(operations.handle(Operation.WRITE_FILE, ws(a), body(Map.of("path", requireString(a, "path", false),
                            "content", content.getBytes(StandardCharsets.UTF_8))), OutputListener.NONE),
                            "wrote " + content.getBytes(StandardCharsets.UTF_8).length + " bytes to " + a.get("path"));
                }));
        tools.add(tool("edit_file", "Edit a file",
                "Replaces an exact piece of text in a file. old_string must match the file exactly (whitespace,"
                        + " indentation and line breaks included) and occur exactly once; include enough surrounding"
                        + " lines to make it unique, or set replace_all to change every occurrence. On zero or several"
                        + " matches nothing changes and the error says how often (and at which lines) it was found.",
                schema(Map.of(WS, wsProp(), "path", str("The file to edit."),
                        "old_string", str("The exact text to replace (not empty)."),
                        "new_string", str("The text to put instead (may be empty to delete)."),
                        "replace_all", Map.of("type", "boolean", "description", "Replace every occurrence.")),
                        List.of(WS, "path", "old_string", "new_string")), false, false,
                (ex, a) -> {
                    Map<String, Object> b = new LinkedHashMap<>();
                    b.put("path", requireString(a, "path", false));
                    b.put("old_string", requireString(a, "old_string", true));
                    b.put("new_string", requireString(a, "new_string", true));
                    b.put("replace_all", bool(a, "replace_all"));
                    Reply r = operations.handle(Operation.EDIT_FILE, ws(a), body(b), OutputListener.NONE);
                    if (r.isError()) {
                        return error(r);
                    }
                    int n = JSON.readTree(r.body()).path("replacements").asInt();
                    return text("edited " + a.get("path") + ": " + n + " replacement" + (n == 1 ? "" : "s"),
                            Map.of("replacements", n));
                }));
        tools.add(tool("list_files", "List files",
                "Lists a directory of the workspace: depth 1 (the default) lists its entries; a larger max_depth"
                        + " lists recursively (links are listed, never followed), up to max_entries entries.",
                schema(Map.of(WS, wsProp(), "path", str("The directory; default the workspace root."),
                        "max_depth", Map.of("type", "integer", "minimum", 1, "maximum", 1000, "description",
                                "How many levels to list (1: only the directory's own entries)."),
                        "max_entries", Map.of("type", "integer", "minimum", 1, "maximum", 100000, "description",
                                "Stop after this many entries (default 1000).")), List.of(WS)), true, false,
                this::listFiles));
        tools.add(tool("diff", "Show changes",
                "Shows what changed in the workspace since it was created (or last reset): per repository a unified"
                        + " diff (git format, untracked files included, binary files marked) against the clean"
                        + " commit — the patch to hand back — plus the files changed outside the repositories.",
                schema(Map.of(WS, wsProp()), List.of(WS)), true, false, this::diff));
        tools.add(tool("fetch", "Fetch upstream",
                "Fetches every repository's remote and fast-forwards clean checkouts; a dirty work tree or a diverged"
                        + " branch is reported and left alone.",
                schema(Map.of(WS, wsProp()), List.of(WS)), false, false,
                (ex, a) -> json(operations.handle(Operation.FETCH, ws(a), body(Map.of()), OutputListener.NONE))));
        tools.add(tool("reset", "Reset workspace",
                "Returns the workspace to its clean state (as created): every change inside and outside the"
                        + " repositories is undone and running processes end. The workspace_id stays the same.",
                schema(Map.of(WS, wsProp()), List.of(WS)), false, true,
                (ex, a) -> done(operations.handle(Operation.RESET, ws(a), body(Map.of()), OutputListener.NONE),
                        "workspace " + ws(a) + " is back in its clean state")));
        tools.add(tool("checkpoint", "Checkpoint",
                "Records the workspace's current state and returns a checkpoint id for restore. Use before a risky"
                        + " change. Checkpoints end with the workspace.",
                schema(Map.of(WS, wsProp()), List.of(WS)), false, false,
                (ex, a) -> {
                    Reply r = operations.handle(Operation.CHECKPOINT, ws(a), body(Map.of()), OutputListener.NONE);
                    if (r.isError()) {
                        return error(r);
                    }
                    String id = JSON.readTree(r.body()).path("checkpoint").asText();
                    return text("checkpoint " + id + " recorded (restore it with restore and checkpoint=" + id + ")",
                            Map.of("checkpoint", id));
                }));
        tools.add(tool("restore", "Restore checkpoint",
                "Returns the workspace to a state recorded by checkpoint; changes made since are lost.",
                schema(Map.of(WS, wsProp(), "checkpoint", str("The id checkpoint returned.")), List.of(WS, "checkpoint")),
                false, true, (ex, a) -> done(operations.handle(Operation.RESTORE, ws(a),
                        body(Map.of("checkpoint", requireString(a, "checkpoint", false))), OutputListener.NONE),
                        "workspace " + ws(a) + " restored to " + a.get("checkpoint"))));
        tools.add(tool("fork", "Fork workspace",
                "Makes count new workspaces with this one's current files (not its running processes), each with its"
                        + " own workspace_id and this one's clean state to reset to: try several approaches side by side"
                        + " and keep the best. Delete the ones you do not keep.",
                schema(Map.of(WS, wsProp(), "count", Map.of("type", "integer", "minimum", 1, "maximum", 64,
                        "description", "How many new workspaces (1 to 64).")), List.of(WS, "count")), false, false,
                (ex, a) -> {
                    Reply r = operations.handle(Operation.FORK, ws(a), body(Map.of("count", a.get("count"))),
                            OutputListener.NONE);
                    if (r.isError()) {
                        return error(r);
                    }
                    List<String> ids = new java.util.ArrayList<>();
                    JSON.readTree(r.body()).path("ids").forEach(n -> ids.add(n.asText()));
                    return text("forked workspace " + ws(a) + " into " + String.join(", ", ids), Map.of("ids", ids));
                }));
        tools.add(tool("process_output", "Background process output",
                "Reads a background process's output (from exec with background: true) from offset on, waiting up"
                        + " to wait_seconds for new output, and says whether it still runs and its exit code.",
                schema(Map.of(WS, wsProp(), "process_id", str("The process id exec returned."),
                        "offset", Map.of("type", "integer", "minimum", 0, "description", "Where to read from: 0, or"
                                + " the next_offset of the previous read."),
                        "wait_seconds", Map.of("type", "number", "minimum", 0, "maximum", 30, "description",
                                "Wait this long for new output when there is none yet.")), List.of(WS, "process_id")),
                true, false, this::processOutput));
        tools.add(tool("process_stdin", "Write to a background process",
                "Writes text to a background process's standard input; close: true closes it afterwards (end of file).",
                schema(Map.of(WS, wsProp(), "process_id", str("The process id exec returned."),
                        "text", str("What to write (add \\n to end a line)."),
                        "close", Map.of("type", "boolean", "description", "Close stdin after writing.")),
                        List.of(WS, "process_id")), false, false,
                (ex, a) -> {
                    Map<String, Object> b = new LinkedHashMap<>();
                    if (a.get("text") != null) {
                        b.put("text", requireString(a, "text", true));
                    }
                    b.put("close", bool(a, "close"));
                    return done(operations.handle(Operation.PROCESS_STDIN, ws(a), requireString(a, "process_id", false),
                            body(b), OutputListener.NONE), "written");
                }));
        tools.add(tool("process_kill", "Kill a background process",
                "Kills a background process and everything it started, and returns its exit code and output.",
                schema(Map.of(WS, wsProp(), "process_id", str("The process id exec returned.")), List.of(WS, "process_id")),
                false, true, (ex, a) -> {
                    Reply r = operations.handle(Operation.PROCESS_KILL, ws(a), requireString(a, "process_id", false),
                            body(Map.of()), OutputListener.NONE);
                    if (r.isError()) {
                        return error(r);
                    }
                    JsonNode result = JSON.readTree(r.body()).path("result");
                    return text(execText(result), execSummary(result));
                }));
        return tools;
    }

    // ------------------------------------------------------------------------------------------------ handlers

    private CallToolResult create(McpSyncServerExchange ex, Map<String, Object> a) throws Exception {
        Map<String, Object> b = new LinkedHashMap<>();
        if (a.get("env") != null) {
            b.put("env", a.get("env"));
        }
        if (a.get("config") != null) {
            b.put("config", a.get("config"));
        }
        Reply r = operations.handle(Operation.CREATE, null, body(b), OutputListener.NONE);
        if (r.isError()) {
            return error(r);
        }
        String id = JSON.readTree(r.body()).path("id").asText();
        Reply info = operations.handle(Operation.INFO, id, body(Map.of()), OutputListener.NONE);
        StringBuilder t = new StringBuilder("workspace " + id + " created");
        if (!info.isError()) {
            JsonNode repos = JSON.readTree(info.body()).path("repositories");
            for (JsonNode repo : repos) {
                t.append("\nrepository ").append(repo.path("path").asText()).append(" at ")
                        .append(repo.path("commit").asText());
            }
        }
        return text(t.toString(), Map.of("workspace_id", id));
    }

    private CallToolResult exec(McpSyncServerExchange ex, Map<String, Object> a) throws Exception {
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("cmd", requireString(a, "command", false));
        if (a.get("working_dir") != null) {
            b.put("working_dir", requireString(a, "working_dir", false));
        }
        if (a.get("env") != null) {
            b.put("env", a.get("env"));
        }
        if (a.get("timeout_seconds") != null) {
            b.put("timeout", number(a, "timeout_seconds"));
        }
        boolean background = bool(a, "background");
        if (background) {
            b.put("background", true);
        }
        OutputListener progress = OutputListener.NONE;
        Object progressToken = currentProgressToken.get();
        if (progressToken != null && !background && ex != null) {
            AtomicInteger n = new AtomicInteger();
            progress = (stream, chunk) -> {
                String text = chunk.length() > MAX_PROGRESS_CHARS ? chunk.substring(0, MAX_PROGRESS_CHARS) + "…" : chunk;
                try {
                    ex.progressNotification(new McpSchema.ProgressNotification(progressToken, n.incrementAndGet(),
                            null, text));
                } catch (RuntimeException e) {
                    LOG.debug("could not send a progress notification: {}", e.toString());
                }
            };
        }
        Reply r = operations.handle(Operation.CMD_WITH_OUTPUT, ws(a), body(b), progress);
        if (r.isError()) {
            return error(r);
        }
        JsonNode result = JSON.readTree(r.body());
        if (background) {
            String pid = result.path("pid").asText();
            return text("started background process " + pid + " (read its output with process_output, stop it with"
                    + " process_kill)", Map.of("process_id", pid));
        }
        return text(execText(result), execSummary(result));
    }

    /** The result's numbers for structuredContent; the output is in the text only, so a model reads it once. */
    private static Map<String, Object> execSummary(JsonNode result) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("exit_code", result.path("exit_code").asInt());
        m.put("timed_out", result.path("timed_out").asBoolean());
        m.put("truncated", result.path("truncated").asBoolean());
        m.put("duration_ms", result.path("duration_ms").asLong());
        return m;
    }

    /** The progress token of the tool call being handled on this thread (the SDK calls handlers synchronously). */
    private final ThreadLocal<Object> currentProgressToken = new ThreadLocal<>();

    private static String execText(JsonNode result) {
        StringBuilder t = new StringBuilder();
        t.append("exit code ").append(result.path("exit_code").asInt());
        if (result.path("timed_out").asBoolean()) {
            t.append(" (timed out: killed after ").append(result.path("duration_ms").asLong()).append(" ms)");
        } else {
            t.append(" in ").append(result.path("duration_ms").asLong()).append(" ms");
        }
        if (result.path("truncated").asBoolean()) {
            t.append("; output truncated at the server's cap");
        }
        String out = result.path("output").asText("");
        if (out.length() > MAX_EXEC_CHARS) {
            int head = MAX_EXEC_CHARS / 4;
            int tail = MAX_EXEC_CHARS - head;
            out = out.substring(0, head) + "\n… (" + (out.length() - MAX_EXEC_CHARS) + " characters left out; redirect"
                    + " the output to a file and read parts of it with read_file) …\n" + out.substring(out.length() - tail);
        }
        t.append(out.isEmpty() ? "\n(no output)" : "\n" + out);
        return t.toString();
    }

    private CallToolResult readFile(McpSyncServerExchange ex, Map<String, Object> a) throws Exception {
        String path = requireString(a, "path", false);
        Reply r = operations.handle(Operation.READ_FILE, ws(a), body(Map.of("path", path)), OutputListener.NONE);
        if (r.isError()) {
            return error(r);
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(r.body())).toString();
        } catch (CharacterCodingException e) {
            return failure("'" + path + "' is a binary file (" + r.body().length + " bytes), not UTF-8 text; inspect it"
                    + " with exec (e.g. 'xxd " + path + " | head' or 'file " + path + "')");
        }
        Integer offset = integer(a, "offset");
        Integer limit = integer(a, "limit");
        boolean numbers = bool(a, "line_numbers");
        if (offset != null || limit != null || numbers) {
            String[] lines = text.split("\n", -1);
            int from = offset == null ? 1 : offset;
            if (from < 1) {
                return failure("offset must be 1 or more (lines are numbered from 1)");
            }
            int to = limit == null ? lines.length : Math.min(lines.length, from - 1 + limit);
            StringBuilder b = new StringBuilder();
            for (int i = from - 1; i < to; i++) {
                if (numbers) {
                    b.append(String.format("%6d\t", i + 1));
                }
                b.append(lines[i]);
                if (i < to - 1) {
                    b.append('\n');
                }
            }
            text = b.toString();
        }
        if (text.length() > MAX_READ_CHARS) {
            return text(text.substring(0, MAX_READ_CHARS) + "\n… (truncated: " + text.length() + " characters; read"
                    + " further with offset and limit)", null);
        }
        return text(text, null);
    }

    private CallToolResult listFiles(McpSyncServerExchange ex, Map<String, Object> a) throws Exception {
        String path = a.get("path") == null ? "" : requireString(a, "path", true);
        Integer depth = integer(a, "max_depth");
        Integer entries = integer(a, "max_entries");
        if ((depth == null || depth == 1) && entries == null) {
            Reply r = operations.handle(Operation.LIST_FILES, ws(a), body(Map.of("path", path)), OutputListener.NONE);
            if (r.isError()) {
                return error(r);
            }
            JsonNode list = JSON.readTree(r.body()).path("entries");
            StringBuilder t = new StringBuilder();
            for (JsonNode e : list) {
                t.append(e.path("path").asText()).append(e.path("directory").asBoolean() ? "/" : "  (" + e.path("size").asLong() + " bytes)").append('\n');
            }
            return text(t.length() == 0 ? "(empty directory)" : t.toString().stripTrailing(), JSON.convertValue(
                    JSON.readTree(r.body()), Map.class));
        }
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("path", path);
        if (depth != null) {
            b.put("max_depth", depth);
        }
        if (entries != null) {
            b.put("max_entries", entries);
        }
        Reply r = operations.handle(Operation.LIST_RECURSIVE, ws(a), body(b), OutputListener.NONE);
        if (r.isError()) {
            return error(r);
        }
        JsonNode tree = JSON.readTree(r.body());
        StringBuilder t = new StringBuilder();
        for (JsonNode e : tree.path("entries")) {
            String type = e.path("type").asText();
            t.append(e.path("path").asText()).append(switch (type) {
                case "directory" -> "/";
                case "symlink" -> " -> " + e.path("link_target").asText();
                default -> "  (" + e.path("size").asLong() + " bytes)";
            }).append('\n');
        }
        if (tree.path("truncated").asBoolean()) {
            t.append("… (truncated: raise max_entries or list a subdirectory)");
        }
        return text(t.length() == 0 ? "(empty directory)" : t.toString().stripTrailing(), JSON.convertValue(tree, Map.class));
    }

    private CallToolResult diff(McpSyncServerExchange ex, Map<String, Object> a) throws Exception {
        Reply r = operations.handle(Operation.DIFF, ws(a), body(Map.of()), OutputListener.NONE);
        if (r.isError()) {
            return error(r);
        }
        JsonNode d = JSON.readTree(r.body());
        StringBuilder t = new StringBuilder();
        for (JsonNode repo : d.path("repositories")) {
            t.append("# repository ").append(repo.path("path").asText()).append(" against ")
                    .append(repo.path("base").asText()).append(": ").append(repo.path("files").size())
                    .append(" changed file(s)\n");
            t.append(repo.path("patch").asText());
            if (!repo.path("patch").asText().isEmpty() && !repo.path("patch").asText().endsWith("\n")) {
                t.append('\n');
            }
        }
        if (d.path("outside_tracked").asBoolean()) {
            JsonNode outside = d.path("outside_repositories");
            t.append("# outside the repositories: ").append(outside.size()).append(" changed path(s)\n");
            for (JsonNode c : outside) {
                t.append(c.path("kind").asText()).append(' ').append(c.path("path").asText()).append('\n');
            }
        }
        return text(t.toString().stripTrailing(), JSON.convertValue(d, Map.class));
    }

    private CallToolResult processOutput(McpSyncServerExchange ex, Map<String, Object> a) throws Exception {
        Map<String, Object> b = new LinkedHashMap<>();
        if (a.get("offset") != null) {
            b.put("offset", integer(a, "offset"));
        }
        if (a.get("wait_seconds") != null) {
            b.put("wait", number(a, "wait_seconds"));
        }
        Reply r = operations.handle(Operation.PROCESS_OUTPUT, ws(a), requireString(a, "process_id", false), body(b),
                OutputListener.NONE);
        if (r.isError()) {
            return error(r);
        }
        JsonNode o = JSON.readTree(r.body());
        String state = o.path("running").asBoolean() ? "running" : "ended with exit code " + o.path("exit_code").asInt();
        return text(state + "; next_offset " + o.path("next_offset").asLong()
                + (o.path("dropped").asBoolean() ? " (older output was dropped)" : "") + "\n" + o.path("output").asText(),
                JSON.convertValue(o, Map.class));
    }

    // ------------------------------------------------------------------------------------------------- plumbing

    @FunctionalInterface
    interface Handler {
        CallToolResult call(McpSyncServerExchange exchange, Map<String, Object> arguments) throws Exception;
    }

    /** Thrown for a bad argument: becomes a tool error with the message. */
    static final class BadArgument extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BadArgument(String message) {
            super(message);
        }
    }

    private SyncToolSpecification tool(String name, String title, String description, Map<String, Object> schema,
                                       boolean readOnly, boolean destructive, Handler handler) {
        McpSchema.Tool tool = McpSchema.Tool.builder(name, schema).title(title).description(description)
                .annotations(new McpSchema.ToolAnnotations(title, readOnly, destructive, !readOnly && !destructive
                        ? Boolean.FALSE : Boolean.TRUE, Boolean.FALSE, null))
                .build();
        Set<String> known = ((Map<?, ?>) schema.get("properties")).keySet().stream().map(String::valueOf)
                .collect(java.util.stream.Collectors.toSet());
        return SyncToolSpecification.builder().tool(tool).callHandler((exchange, request) -> {
            long start = System.nanoTime();
            currentProgressToken.set(request.progressToken());
            try {
                Map<String, Object> args = request.arguments() == null ? Map.of() : request.arguments();
                for (String key : args.keySet()) {
                    if (!known.contains(key)) {
                        return failure("unknown argument '" + key + "' for " + name + "; it takes: "
                                + String.join(", ", new java.util.TreeSet<>(known)));
                    }
                }
                for (Object required : (List<?>) schema.get("required")) {
                    if (args.get(String.valueOf(required)) == null) {
                        return failure(name + " needs the argument '" + required + "'");
                    }
                }
                CallToolResult result = handler.call(exchange, args);
                LOG.debug("tool {} in {} ms{}", name, (System.nanoTime() - start) / 1_000_000,
                        Boolean.TRUE.equals(result.isError()) ? " (error)" : "");
                return result;
            } catch (BadArgument e) {
                return failure(e.getMessage());
            } catch (Exception | Error e) {
                LOG.error("tool {} failed: {}", name, redactor.redact(String.valueOf(e)), e);
                return failure("internal error in " + name + ": " + redactor.redact(String.valueOf(e.getMessage()))
                        + " (the server logged it; try again, or report it)");
            } finally {
                currentProgressToken.remove();
            }
        }).build();
    }

    private static Map<String, Object> schema(Map<String, Object> properties, List<String> required) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("type", "object");
        s.put("properties", new java.util.TreeMap<>(properties));
        s.put("required", required);
        s.put("additionalProperties", false);
        return s;
    }

    private static Map<String, Object> str(String description) {
        return Map.of("type", "string", "description", description);
    }

    private static Map<String, Object> obj(String description, Map<String, Object> values) {
        return Map.of("type", "object", "description", description, "additionalProperties", values);
    }

    private static Map<String, Object> wsProp() {
        return str("The workspace's id, as create_workspace or list_workspaces returned it.");
    }

    private static ByteArrayInputStream body(Map<String, ?> value) throws Exception {
        return new ByteArrayInputStream(JSON.writeValueAsBytes(value));
    }

    private static String ws(Map<String, Object> a) {
        return requireString(a, WS, false);
    }

    private static String requireString(Map<String, Object> a, String key, boolean emptyOk) {
        Object v = a.get(key);
        if (!(v instanceof String s)) {
            throw new BadArgument(v == null ? "missing argument '" + key + "'" : "argument '" + key
                    + "' must be a string, got " + v.getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT));
        }
        if (!emptyOk && s.isBlank()) {
            throw new BadArgument("argument '" + key + "' is empty");
        }
        return s;
    }

    private static boolean bool(Map<String, Object> a, String key) {
        Object v = a.get(key);
        if (v == null) {
            return false;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        throw new BadArgument("argument '" + key + "' must be true or false");
    }

    private static Integer integer(Map<String, Object> a, String key) {
        Object v = a.get(key);
        if (v == null) {
            return null;
        }
        if (v instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue()) && Math.abs(n.doubleValue()) < 1e9) {
            return n.intValue();
        }
        throw new BadArgument("argument '" + key + "' must be a whole number");
    }

    private static double number(Map<String, Object> a, String key) {
        Object v = a.get(key);
        if (v instanceof Number n && Double.isFinite(n.doubleValue())) {
            return n.doubleValue();
        }
        throw new BadArgument("argument '" + key + "' must be a number");
    }

    private CallToolResult json(Reply r) throws Exception {
        if (r.isError()) {
            return error(r);
        }
        JsonNode node = JSON.readTree(r.body());
        return text(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node), JSON.convertValue(node, Map.class));
    }

    private CallToolResult done(Reply r, String message) throws Exception {
        return r.isError() ? error(r) : text(message, null);
    }

    /** An error reply as a tool error: the message, plus the output of a failed command or setup. */
    private CallToolResult error(Reply r) {
        String text;
        try {
            JsonNode e = JSON.readTree(r.body());
            text = e.path("error").asText("error") + ": " + e.path("message").asText("");
            if (e.hasNonNull("output") && !e.path("output").asText().isEmpty()) {
                text += "\noutput:\n" + e.path("output").asText();
            }
            if (e.path("error").asText().equals("not_supported")) {
                text += "\n(this server's provider cannot do that; use exec instead where possible)";
            }
        } catch (Exception notJson) {
            text = "error " + r.status() + ": " + new String(r.body(), StandardCharsets.UTF_8);
        }
        return failure(text);
    }

    private static CallToolResult failure(String message) {
        return CallToolResult.builder().addTextContent(message).isError(true).build();
    }

    private static CallToolResult text(String text, Object structured) {
        CallToolResult.Builder b = CallToolResult.builder().addTextContent(text).isError(false);
        if (structured != null) {
            b.structuredContent(structured);
        }
        return b.build();
    }

    static ObjectNode node() {
        return JSON.createObjectNode();
    }
}
