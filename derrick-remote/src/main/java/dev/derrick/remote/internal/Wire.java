package dev.derrick.remote.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.FileEntry;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.OperationNotSupportedException;
import dev.derrick.api.OutputListener;
import dev.derrick.api.ProviderUnavailableException;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.RepositoryState;
import dev.derrick.api.SetupFailedException;
import dev.derrick.api.StreamKind;
import dev.derrick.api.WorkspaceBusyException;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceInfo;
import dev.derrick.api.WorkspaceNotFoundException;
import dev.derrick.core.json.Json;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/** The JSON bodies of the HTTP API, as the remote providers send and read them. */
final class Wire {
    static final byte[] EMPTY = "{}".getBytes(StandardCharsets.UTF_8);

    private Wire() {
    }

    static byte[] createBody(WorkspaceConfig config) {
        try {
            ObjectNode body = Json.mapper().createObjectNode();
            body.set("config", Json.mapper().readTree(config.toJson()));
            return bytes(body);
        } catch (IOException e) {
            throw new DerrickException("cannot encode the workspace config: " + e.getMessage(), e);
        }
    }

    static String createdId(Reply reply) {
        return tree(reply).path("id").asText();
    }

    static byte[] execBody(ExecRequest request) {
        ObjectNode body = Json.mapper().createObjectNode();
        body.put("cmd", request.command());
        if (request.workingDir() != null) {
            body.put("working_dir", request.workingDir());
        }
        if (!request.env().isEmpty()) {
            ObjectNode env = body.putObject("env");
            request.env().forEach(env::put);
        }
        if (request.timeout() != null) {
            body.put("timeout", request.timeout().toMillis() / 1000.0);
        }
        return bytes(body);
    }

    static ExecResult execResult(Reply reply) {
        JsonNode n = tree(reply);
        return new ExecResult(n.path("exit_code").asInt(-1), n.path("stdout").asText(""), n.path("stderr").asText(""),
                n.path("output").asText(""), Duration.ofMillis(n.path("duration_ms").asLong()),
                n.path("timed_out").asBoolean(false), n.path("truncated").asBoolean(false));
    }

    static void replay(ExecResult result, OutputListener listener) {
        if (!result.stdout().isEmpty()) {
            listener.onOutput(StreamKind.STDOUT, result.stdout());
        }
        if (!result.stderr().isEmpty()) {
            listener.onOutput(StreamKind.STDERR, result.stderr());
        }
    }

    static byte[] pathBody(String path) {
        ObjectNode body = Json.mapper().createObjectNode();
        body.put("path", path);
        return bytes(body);
    }

    static byte[] writeBody(String path, byte[] content) {
        ObjectNode body = Json.mapper().createObjectNode();
        body.put("path", path);
        body.put("content", Base64.getEncoder().encodeToString(content));
        return bytes(body);
    }

    static byte[] restoreBody(String checkpointId) {
        ObjectNode body = Json.mapper().createObjectNode();
        body.put("checkpoint_id", checkpointId);
        return bytes(body);
    }

    static String checkpointId(Reply reply) {
        JsonNode n = tree(reply);
        return n.has("checkpoint_id") ? n.path("checkpoint_id").asText() : n.path("id").asText();
    }

    static List<FileEntry> files(Reply reply) {
        JsonNode n = tree(reply);
        JsonNode arr = n.isArray() ? n : n.path("files");
        List<FileEntry> out = new ArrayList<>();
        for (JsonNode f : arr) {
            out.add(new FileEntry(f.path("name").asText(), f.path("path").asText(), f.path("directory").asBoolean(),
                    f.path("size").asLong()));
        }
        return out;
    }

    static List<RepositoryFetch> fetches(Reply reply) {
        JsonNode n = tree(reply);
        JsonNode arr = n.isArray() ? n : n.path("repositories");
        List<RepositoryFetch> out = new ArrayList<>();
        for (JsonNode f : arr) {
            out.add(new RepositoryFetch(f.path("path").asText(), text(f, "before"), text(f, "after"),
                    f.path("updated").asBoolean(), text(f, "status")));
        }
        return out;
    }

    static WorkspaceInfo info(Reply reply, String provider) {
        JsonNode n = tree(reply);
        List<RepositoryState> repos = new ArrayList<>();
        for (JsonNode r : n.path("repositories")) {
            repos.add(new RepositoryState(r.path("path").asText(), text(r, "url"), text(r, "commit"), text(r, "branch")));
        }
        Instant created = n.hasNonNull("created") ? Instant.parse(n.path("created").asText()) : null;
        return new WorkspaceInfo(n.path("id").asText(), provider, text(n, "config_name"), text(n, "root"), created,
                repos, text(n, "cache_entry"));
    }

    /** Throws the API exception an error reply stands for; returns a successful reply. */
    static Reply check(Reply reply, Op op, String workspaceId) {
        if (reply.ok()) {
            return reply;
        }
        JsonNode n;
        try {
            n = Json.mapper().readTree(reply.body());
        } catch (IOException | RuntimeException e) {
            n = Json.mapper().createObjectNode();
        }
        String code = n.path("error").asText("");
        String message = n.path("message").asText(reply.text());
        if ("setup_failed".equals(code)) {
            throw new SetupFailedException(message, n.path("exit_code").asInt(-1), n.path("output").asText(""));
        }
        switch (reply.status()) {
            case 400, 422 -> throw new InvalidConfigException(message);
            case 404 -> throw new WorkspaceNotFoundException(workspaceId, message);
            case 409 -> throw new WorkspaceBusyException(message);
            case 501 -> throw new OperationNotSupportedException(message);
            case 503 -> throw new ProviderUnavailableException(message);
            default -> throw new DerrickException(op.token() + " failed on the agent (" + reply.status()
                    + (code.isEmpty() ? "" : " " + code) + "): " + message);
        }
    }

    private static String text(JsonNode n, String field) {
        return n.hasNonNull(field) ? n.get(field).asText() : null;
    }

    private static JsonNode tree(Reply reply) {
        try {
            return Json.mapper().readTree(reply.body());
        } catch (IOException e) {
            throw new DerrickException("the agent sent a reply that is not JSON: " + e.getMessage(), e);
        }
    }

    private static byte[] bytes(JsonNode node) {
        try {
            return Json.mapper().writeValueAsBytes(node);
        } catch (IOException e) {
            throw new DerrickException("cannot encode a request: " + e.getMessage(), e);
        }
    }
}
