package dev.derrick.server.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.derrick.tck.GitTestServer;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.spec.McpSchema;
import io.modelcontextprotocol.spec.McpSchema.CallToolRequest;
import io.modelcontextprotocol.spec.McpSchema.CallToolResult;
import io.modelcontextprotocol.spec.McpSchema.TextContent;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A coding agent's loop through derrick's MCP tools, driven by the official MCP Java SDK's client against a real
 * derrick server (a child process over stdio, or the HTTP server's {@code /mcp}): create → exec → read → edit →
 * diff → reset, with checkpoints, background processes and the errors a model must be able to act on. Subclasses
 * say how to connect and which provider serves.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(300)
public abstract class McpAgentLoopContract {
    protected static final String TOKEN_ENV = "MCP_IT_GIT_TOKEN";
    protected static final ObjectMapper JSON = new ObjectMapper();
    protected final String token = "mcp-token-" + UUID.randomUUID();
    protected GitTestServer git;
    protected String commit;
    protected Path dir;
    protected McpSyncClient client;
    protected final List<McpSchema.ProgressNotification> progress = new CopyOnWriteArrayList<>();

    /** The provider the server runs ({@code local}, {@code docker}). */
    protected abstract String provider();

    /** Extra workspace-config fields, e.g. the docker image. */
    protected Map<String, Object> configExtras() {
        return Map.of();
    }

    /** Starts the server with this config file and the token in its environment, and connects a client. */
    protected abstract McpSyncClient connect(Path workspaceConfig, Map<String, String> env) throws Exception;

    /** Stops what {@link #connect} started. */
    protected abstract void disconnect() throws Exception;

    @BeforeAll
    void start() throws Exception {
        git = GitTestServer.start(token);
        commit = git.createRepository("app", Map.of("README.md", "hello mcp\n", "src/main.py", "print('hi')\n"));
        dir = Files.createTempDirectory("derrick-mcp-it-");
        Map<String, Object> config = new java.util.LinkedHashMap<>();
        config.put("name", "mcp-" + provider());
        config.put("repositories", List.of(Map.of("url", git.url("app"), "path", "code/app",
                "auth", Map.of("token_env", TOKEN_ENV))));
        config.put("setup_script", "echo ready > setup.txt");
        config.putAll(configExtras());
        Path file = dir.resolve("workspace.json");
        JSON.writeValue(file.toFile(), config);
        client = connect(file, Map.of(TOKEN_ENV, token));
    }

    @AfterAll
    void stop() throws Exception {
        try {
            disconnect();
        } finally {
            if (git != null) {
                git.close();
            }
        }
    }

    protected CallToolResult call(String tool, Map<String, Object> args) {
        return client.callTool(new CallToolRequest(tool, args, null));
    }

    protected CallToolResult callWithProgress(String tool, Map<String, Object> args, String progressToken) {
        return client.callTool(new CallToolRequest(tool, args, Map.of("progressToken", progressToken)));
    }

    protected static String text(CallToolResult r) {
        StringBuilder b = new StringBuilder();
        for (McpSchema.Content c : r.content()) {
            if (c instanceof TextContent t) {
                b.append(t.text());
            }
        }
        return b.toString();
    }

    protected static JsonNode structured(CallToolResult r) {
        return JSON.valueToTree(r.structuredContent());
    }

    protected static CallToolResult ok(CallToolResult r) {
        assertThat(r.isError()).as("tool error: %s", text(r)).isNotEqualTo(Boolean.TRUE);
        return r;
    }

    protected static CallToolResult failed(CallToolResult r) {
        assertThat(r.isError()).as("expected a tool error, got: %s", text(r)).isTrue();
        return r;
    }

    @Test
    @SuppressWarnings("unchecked")
    void toolsHaveSchemasAndDescriptions() {
        List<McpSchema.Tool> tools = client.listTools().tools();
        assertThat(tools).extracting(McpSchema.Tool::name).contains("create_workspace", "list_workspaces",
                "delete_workspace", "exec", "read_file", "write_file", "list_files", "edit_file", "fetch", "reset",
                "checkpoint", "restore", "fork", "diff");
        for (McpSchema.Tool t : tools) {
            assertThat(t.description()).as(t.name()).hasSizeGreaterThan(40);
            assertThat(t.inputSchema()).as(t.name()).containsEntry("type", "object").containsKey("properties");
        }
        McpSchema.Tool edit = tools.stream().filter(t -> t.name().equals("edit_file")).findFirst().orElseThrow();
        assertThat((List<Object>) edit.inputSchema().get("required"))
                .containsExactlyInAnyOrder("workspace_id", "path", "old_string", "new_string");
    }

    @Test
    void anAgentCreatesExecsEditsDiffsAndResets() throws Exception {
        CallToolResult created = ok(call("create_workspace", Map.of()));
        String ws = structured(created).path("workspace_id").asText();
        assertThat(ws).isNotBlank();
        assertThat(text(created)).contains(ws).contains("code/app").contains(commit);
        try {
            CallToolResult ran = ok(callWithProgress("exec", Map.of("workspace_id", ws,
                    "command", "cat code/app/README.md; for i in 1 2 3; do echo line-$i; sleep 0.2; done; echo oops >&2; exit 3"),
                    "exec-" + UUID.randomUUID()));
            assertThat(text(ran)).startsWith("exit code 3").contains("hello mcp").contains("line-3").contains("oops");
            assertThat(structured(ran).path("exit_code").asInt()).isEqualTo(3);
            assertThat(structured(ran).path("truncated").asBoolean()).isFalse();
            assertThat(progress).as("progress notifications while the command ran")
                    .anySatisfy(p -> assertThat(p.message()).contains("line-1"));

            assertThat(text(ok(call("read_file", Map.of("workspace_id", ws, "path", "code/app/src/main.py")))))
                    .isEqualTo("print('hi')\n");
            assertThat(text(ok(call("read_file", Map.of("workspace_id", ws, "path", "setup.txt", "line_numbers", true)))))
                    .contains("1\tready");
            CallToolResult edited = ok(call("edit_file", Map.of("workspace_id", ws, "path", "code/app/src/main.py",
                    "old_string", "print('hi')", "new_string", "print('hello, world')")));
            assertThat(structured(edited).path("replacements").asInt()).isEqualTo(1);
            CallToolResult missing = failed(call("edit_file", Map.of("workspace_id", ws, "path", "code/app/src/main.py",
                    "old_string", "print('nope')", "new_string", "x")));
            assertThat(text(missing)).contains("edit_failed").contains("not found").contains("unchanged");
            ok(call("write_file", Map.of("workspace_id", ws, "path", "code/app/NOTES.md", "content", "new file\n")));
            assertThat(text(ok(call("list_files", Map.of("workspace_id", ws, "path", "code/app")))))
                    .contains("code/app/NOTES.md").contains("code/app/src/");

            CallToolResult diff = ok(call("diff", Map.of("workspace_id", ws)));
            assertThat(text(diff)).contains("+print('hello, world')").contains("-print('hi')")
                    .contains("+++ b/NOTES.md").contains("# repository code/app against " + commit);
            JsonNode repo = structured(diff).path("repositories").get(0);
            assertThat(repo.path("files").findValuesAsText("path")).containsExactly("NOTES.md", "src/main.py");

            CallToolResult cp = ok(call("checkpoint", Map.of("workspace_id", ws)));
            String checkpoint = structured(cp).path("checkpoint").asText();
            ok(call("exec", Map.of("workspace_id", ws, "command", "rm code/app/README.md")));
            ok(call("restore", Map.of("workspace_id", ws, "checkpoint", checkpoint)));
            assertThat(text(ok(call("read_file", Map.of("workspace_id", ws, "path", "code/app/README.md")))))
                    .isEqualTo("hello mcp\n");

            JsonNode forked = structured(ok(call("fork", Map.of("workspace_id", ws, "count", 2)))).path("ids");
            assertThat(forked).hasSize(2);
            for (JsonNode f : forked) {
                assertThat(text(ok(call("read_file", Map.of("workspace_id", f.asText(), "path", "code/app/README.md")))))
                        .isEqualTo("hello mcp\n");
                ok(call("delete_workspace", Map.of("workspace_id", f.asText())));
            }
            assertThat(text(failed(call("fork", Map.of("workspace_id", ws, "count", 0)))))
                    .contains("fork count must be between 1 and 64, got 0");

            ok(call("reset", Map.of("workspace_id", ws)));
            assertThat(text(ok(call("read_file", Map.of("workspace_id", ws, "path", "code/app/src/main.py")))))
                    .isEqualTo("print('hi')\n");
            assertThat(structured(ok(call("diff", Map.of("workspace_id", ws)))).path("repositories").get(0)
                    .path("files").size()).isZero();
            assertThat(text(ok(call("list_workspaces", Map.of())))).contains(ws);
        } finally {
            ok(call("delete_workspace", Map.of("workspace_id", ws)));
        }
        assertThat(text(ok(call("list_workspaces", Map.of())))).doesNotContain(ws);
    }

    /** Waits (through process_output's own wait) until the output from offset 0 contains {@code text}. */
    private String awaitOutput(String ws, String pid, String text) {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        String all = "";
        while (!all.contains(text) && System.nanoTime() < deadline) {
            all = structured(ok(call("process_output", Map.of("workspace_id", ws, "process_id", pid, "offset", 0,
                    "wait_seconds", 1)))).path("output").asText();
        }
        assertThat(all).as("output of background process %s", pid).contains(text);
        return all;
    }

    @Test
    void anAgentRunsABackgroundProcessFeedsItAndKillsIt() {
        String ws = structured(ok(call("create_workspace", Map.of()))).path("workspace_id").asText();
        try {
            CallToolResult started = ok(call("exec", Map.of("workspace_id", ws, "background", true, "command",
                    "echo ready; read line; echo \"got $line\"; sleep 300")));
            String pid = structured(started).path("process_id").asText();
            assertThat(pid).isNotBlank();
            assertThat(text(started)).contains(pid).contains("process_output").contains("process_kill");
            awaitOutput(ws, pid, "ready");
            ok(call("process_stdin", Map.of("workspace_id", ws, "process_id", pid, "text", "hello\n")));
            awaitOutput(ws, pid, "got hello");
            CallToolResult running = ok(call("process_output", Map.of("workspace_id", ws, "process_id", pid)));
            assertThat(text(running)).startsWith("running; next_offset ");
            long next = structured(running).path("next_offset").asLong();
            assertThat(next).isEqualTo("ready\ngot hello\n".length());

            CallToolResult killed = ok(call("process_kill", Map.of("workspace_id", ws, "process_id", pid)));
            assertThat(text(killed)).contains("got hello");
            assertThat(text(ok(call("process_output", Map.of("workspace_id", ws, "process_id", pid, "offset", next)))))
                    .startsWith("ended with exit code");
            assertThat(text(failed(call("process_output", Map.of("workspace_id", ws, "process_id", "p-nope")))))
                    .contains("process_not_found");

            // one left running ends with its workspace
            String server = structured(ok(call("exec", Map.of("workspace_id", ws, "background", true, "command",
                    "echo serving; sleep 300")))).path("process_id").asText();
            awaitOutput(ws, server, "serving");
        } finally {
            ok(call("delete_workspace", Map.of("workspace_id", ws)));
        }
        assertThat(text(failed(call("process_output", Map.of("workspace_id", ws, "process_id", "p1")))))
                .contains("workspace_not_found");
    }

    @Test
    void everyFailureIsAToolErrorAModelCanActOn() {
        assertThat(text(failed(call("exec", Map.of("workspace_id", "no-such-ws", "command", "true")))))
                .contains("workspace_not_found").contains("no-such-ws");
        assertThat(text(failed(call("exec", Map.of("workspace_id", "x")))))
                .contains("needs the argument 'command'");
        assertThat(text(failed(call("exec", Map.of("workspace_id", "x", "command", "true", "colour", "red")))))
                .contains("unknown argument 'colour'").contains("command");
        assertThat(text(failed(call("exec", Map.of("workspace_id", "x", "command", 42)))))
                .contains("'command' must be a string");
        String ws = structured(ok(call("create_workspace", Map.of()))).path("workspace_id").asText();
        try {
            assertThat(text(failed(call("read_file", Map.of("workspace_id", ws, "path", "nope.txt")))))
                    .contains("file_not_found").contains("nope.txt");
            assertThat(text(failed(call("read_file", Map.of("workspace_id", ws, "path", "../../etc/passwd")))))
                    .contains("invalid_request");
            assertThat(text(failed(call("restore", Map.of("workspace_id", ws, "checkpoint", "cp-nope")))))
                    .contains("checkpoint_not_found");
            ok(call("write_file", Map.of("workspace_id", ws, "path", "twice.txt", "content", "a\na\n")));
            assertThat(text(failed(call("edit_file", Map.of("workspace_id", ws, "path", "twice.txt",
                    "old_string", "a", "new_string", "b"))))).contains("2 times").contains("replace_all");
            CallToolResult big = ok(call("exec", Map.of("workspace_id", ws, "command",
                    "echo START; head -c 300000 /dev/zero | tr '\\0' x; echo; echo END")));
            assertThat(text(big)).contains("START").contains("END").contains("characters left out")
                    .hasSizeLessThan(70_000);
            assertThat(structured(big).has("output")).as("the output travels once, in the text").isFalse();
            CallToolResult timedOut = ok(call("exec", Map.of("workspace_id", ws, "command", "sleep 30",
                    "timeout_seconds", 0.5)));
            assertThat(text(timedOut)).contains("timed out");
            assertThat(structured(timedOut).path("timed_out").asBoolean()).isTrue();
        } finally {
            ok(call("delete_workspace", Map.of("workspace_id", ws)));
        }
    }
}
