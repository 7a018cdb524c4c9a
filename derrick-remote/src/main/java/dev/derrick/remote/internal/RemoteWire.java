package dev.derrick.remote.internal;

import dev.derrick.core.protocol.Operation;
import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.FileEntry;
import dev.derrick.api.OutputListener;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.StreamKind;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceInfo;
import dev.derrick.api.WorkspaceNotFoundException;
import dev.derrick.core.wire.WireError;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static dev.derrick.core.wire.Wire.read;

/** The remote providers' side of the shared wire DTOs ({@link dev.derrick.core.wire.Wire}). */
final class RemoteWire {
    static final byte[] EMPTY = "{}".getBytes(StandardCharsets.UTF_8);

    private RemoteWire() {
    }

    static byte[] createBody(WorkspaceConfig config) {
        return write(dev.derrick.core.wire.Wire.CreateBody.of(config, null));
    }

    static String createdId(RemoteReply reply) {
        return read(reply.body(), dev.derrick.core.wire.Wire.IdReply.class, "create reply").id();
    }

    static byte[] execBody(ExecRequest request) {
        return write(dev.derrick.core.wire.Wire.CmdBody.from(request));
    }

    static ExecResult execResult(RemoteReply reply) {
        return read(reply.body(), dev.derrick.core.wire.Wire.CmdResult.class, "cmd_with_output reply").toResult();
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
        return write(new dev.derrick.core.wire.Wire.ReadFileBody(path, null));
    }

    static byte[] writeBody(String path, byte[] content) {
        return write(new dev.derrick.core.wire.Wire.WriteFileBody(path, content, null));
    }

    static byte[] listFilesBody(String path) {
        return write(new dev.derrick.core.wire.Wire.ListFilesBody(path, null));
    }

    static List<FileEntry> fileEntries(RemoteReply reply) {
        return read(reply.body(), dev.derrick.core.wire.Wire.FileList.class, "list_files reply").toEntries();
    }

    static String checkpointId(RemoteReply reply) {
        String id = read(reply.body(), dev.derrick.core.wire.Wire.CheckpointReply.class, "checkpoint reply").checkpoint();
        if (id == null || id.isBlank()) {
            throw new DerrickException("the agent's checkpoint reply carries no checkpoint id: " + reply.text());
        }
        return id;
    }

    static byte[] forkBody(int count) {
        return write(new dev.derrick.core.wire.Wire.ForkBody(count));
    }

    static List<String> forkedIds(RemoteReply reply) {
        List<String> ids = read(reply.body(), dev.derrick.core.wire.Wire.ForkReply.class, "fork reply").ids();
        if (ids == null || ids.isEmpty() || ids.stream().anyMatch(i -> i == null || i.isBlank())) {
            throw new DerrickException("the agent's fork reply carries no workspace ids: " + reply.text());
        }
        return ids;
    }

    static byte[] restoreBody(String checkpointId) {
        return write(new dev.derrick.core.wire.Wire.RestoreBody(checkpointId));
    }

    static List<RepositoryFetch> fetches(RemoteReply reply) {
        return read(reply.body(), dev.derrick.core.wire.Wire.FetchReply.class, "fetch reply").toFetches();
    }

    static WorkspaceInfo info(RemoteReply reply) {
        return read(reply.body(), dev.derrick.core.wire.Wire.WorkspaceInfoBody.class, "workspace info").toInfo();
    }

    static byte[] write(Object body) {
        return dev.derrick.core.wire.Wire.write(body);
    }

    static <T> T reply(RemoteReply reply, Class<T> type, Operation op) {
        return read(reply.body(), type, op.wireName() + " reply");
    }

    /** Throws the API exception an error reply stands for; returns a successful reply. */
    static RemoteReply check(RemoteReply reply, Operation op, String workspaceId) {
        if (reply.ok()) {
            return reply;
        }
        WireError.Body body;
        try {
            body = read(reply.body(), WireError.Body.class, op.wireName() + " error");
        } catch (RuntimeException notJson) {
            body = new WireError.Body(reply.status() == 404 ? WireError.WORKSPACE_NOT_FOUND : WireError.INTERNAL,
                    op.wireName() + " failed with status " + reply.status() + ": " + reply.text(), null, null, null);
        }
        if (WireError.WORKSPACE_NOT_FOUND.equals(body.error()) && workspaceId != null) {
            throw new WorkspaceNotFoundException(workspaceId, body.message());
        }
        DerrickException e = new WireError(reply.status(), body).toException();
        throw e;
    }
}
