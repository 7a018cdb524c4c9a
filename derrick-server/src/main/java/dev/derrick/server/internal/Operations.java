package dev.derrick.server.internal;

import dev.derrick.core.protocol.Operation;
import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.OutputListener;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceBusyException;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.core.Redactor;
import dev.derrick.core.pool.WorkspacePool;
import dev.derrick.core.wire.Wire;
import dev.derrick.core.wire.WireError;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The operations of a derrick agent over one provider, independent of the transport: an {@link Operation}, a
 * workspace id and a JSON body in; a {@link Reply} (status, content type, bytes) out. The HTTP server and the NATS
 * agent both call {@link #handle}; neither knows what a workspace is.
 *
 * <p>Concurrency: each workspace has a read-write lock. Commands, file reads, writes and listings and info take it
 * shared (a {@link Workspace} is thread-safe, so they run side by side); {@code reset}, {@code fetch},
 * {@code checkpoint}, {@code restore} and {@code fork} take it exclusive (a checkpoint records a state no command is changing),
 * waiting at most {@link #EXCLUSIVE_WAIT} for running operations before answering 409. {@code delete} takes no lock:
 * it closes the workspace at once, which kills whatever runs in it. Nothing is shared between workspaces, so a slow
 * operation on one never delays another.
 *
 * <p>{@link #handle} never throws: every failure becomes an error reply, with messages scrubbed by the
 * {@link Redactor}.
 */
public final class Operations implements AutoCloseable {
    /** How long reset/fetch wait for running operations on the same workspace. */
    public static final Duration EXCLUSIVE_WAIT = Duration.ofSeconds(30);

    private static final Logger log = LoggerFactory.getLogger(Operations.class);

    private final WorkspaceProvider provider;
    private final WorkspaceConfig defaultConfig;
    private final Redactor redactor;
    private final ApiConfigPolicy policy;
    private final Map<String, ReentrantReadWriteLock> locks = new ConcurrentHashMap<>();
    private final AtomicBoolean closed = new AtomicBoolean();

    /**
     * @param provider      the provider to serve; {@link #close()} closes it
     * @param defaultConfig the config of workspaces whose create request carries none (the {@code -w} file), or
     *                      {@code null} when every request must carry one
     * @param redactor      scrubs secrets from error messages
     */
    public Operations(WorkspaceProvider provider, WorkspaceConfig defaultConfig, Redactor redactor) {
        this(provider, defaultConfig, redactor, ApiConfigPolicy.forServerConfig(defaultConfig));
    }

    /**
     * @param policy what configs received in create requests may do (token hosts, local repositories); the
     *               {@code defaultConfig} is trusted
     */
    public Operations(WorkspaceProvider provider, WorkspaceConfig defaultConfig, Redactor redactor,
                      ApiConfigPolicy policy) {
        this.provider = Objects.requireNonNull(provider, "provider");
        this.defaultConfig = defaultConfig;
        this.redactor = redactor == null ? new Redactor() : redactor;
        this.policy = Objects.requireNonNull(policy, "policy");
    }

    /** What configs received in create requests may do. */
    public ApiConfigPolicy policy() {
        return policy;
    }

    /** The provider being served. */
    public WorkspaceProvider provider() {
        return provider;
    }

    /**
     * Runs one operation.
     *
     * @param op          what to do
     * @param workspaceId the workspace, for operations that {@linkplain Operation#needsWorkspace() need one}
     * @param body        the request body (JSON; may be empty); read at most once, not closed
     */
    public Reply handle(Operation op, String workspaceId, InputStream body) {
        return handle(op, workspaceId, body, OutputListener.NONE);
    }

    /**
     * Runs one operation, streaming a command's output to {@code output} while it runs ({@code cmd} and
     * {@code cmd_with_output}; other operations ignore it). The reply still carries the whole result.
     *
     * @param output receives output chunks as the command writes them; {@code null} for none
     */
    public Reply handle(Operation op, String workspaceId, InputStream body, OutputListener output) {
        return handle(op, workspaceId, null, body, output);
    }

    /**
     * Runs one operation on a workspace's background process ({@link Operation#needsProcess()}), or any other
     * operation ({@code processId} is then ignored).
     *
     * @param processId the process handle id, e.g. {@code p1}
     */
    public Reply handle(Operation op, String workspaceId, String processId, InputStream body, OutputListener output) {
        try {
            if (closed.get() && op != Operation.HEALTH) {
                return Reply.error(WireError.of(503, WireError.PROVIDER_UNAVAILABLE, "the server is shutting down"));
            }
            if (op.needsProcess()) {
                return process(op, workspaceId, processId, body == null ? InputStream.nullInputStream() : body);
            }
            return dispatch(op, workspaceId, body == null ? InputStream.nullInputStream() : body,
                    output == null ? OutputListener.NONE : output);
        } catch (BodyTooLargeException e) {
            return Reply.error(WireError.of(413, WireError.PAYLOAD_TOO_LARGE, e.getMessage()));
        } catch (IOException e) {
            return Reply.error(WireError.of(400, WireError.INVALID_REQUEST,
                    "cannot read the request body: " + redactor.redact(String.valueOf(e.getMessage()))));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Reply.error(WireError.of(503, WireError.PROVIDER_UNAVAILABLE, "interrupted: the server is shutting down"));
        } catch (RuntimeException | Error e) {
            String storage = storageFault(e);
            if (storage != null && storage.startsWith("413:")) {
                return Reply.error(WireError.of(413, WireError.PAYLOAD_TOO_LARGE, redactor.redact(storage.substring(4))));
            }
            if (storage != null) {
                log.warn("{} {} failed: {}", op.wireName(), workspaceId == null ? "" : workspaceId, storage);
                return Reply.error(WireError.of(503, WireError.PROVIDER_UNAVAILABLE, redactor.redact(storage)));
            }
            WireError error = WireError.from(e, redactor::redact);
            if (error.status() == 500) {
                // A fault of derrick's or the provider's: the stack trace is for the operator.
                log.error("{} {} failed: {}", op.wireName(), workspaceId == null ? "" : workspaceId,
                        redactor.redact(String.valueOf(e)), e);
            } else if (error.status() > 501) {
                // Something outside (git server, engine, agent) failed: the message says what; no stack trace.
                log.warn("{} {} failed: {}", op.wireName(), workspaceId == null ? "" : workspaceId,
                        error.body().message());
            }
            return Reply.error(error);
        }
    }

    private Reply dispatch(Operation op, String id, InputStream body, OutputListener output)
            throws IOException, InterruptedException {
        switch (op) {
            case HEALTH:
                return Reply.json(new Wire.Health(true));
            case LIST:
                return Reply.json(Wire.WorkspaceList.from(provider.list().stream().map(Workspace::info).toList()));
            case CREATE:
                return create(Wire.read(body, Wire.CreateBody.class, "create request"));
            case DELETE: {
                Workspace ws = provider.get(id);
                long start = System.nanoTime();
                ws.close();
                locks.remove(id);
                log.info("workspace {} removed in {} ms", id, (System.nanoTime() - start) / 1_000_000);
                return Reply.json(Boolean.TRUE);
            }
            default:
                break;
        }
        Workspace ws = provider.get(id);
        ReentrantReadWriteLock rw = locks.computeIfAbsent(id, k -> new ReentrantReadWriteLock(true));
        boolean exclusive = op == Operation.RESET || op == Operation.FETCH || op == Operation.CHECKPOINT
                || op == Operation.RESTORE || op == Operation.FORK;
        // Parse the body before locking, so a slow upload never holds the workspace.
        Object request = switch (op) {
            case CMD, CMD_WITH_OUTPUT -> {
                Wire.CmdBody cmd = Wire.read(body, Wire.CmdBody.class, op.wireName() + " request");
                yield cmd.inBackground() ? new Background(cmd.toRequest()) : cmd.toRequest();
            }
            case STAT, MKDIR -> Wire.read(body, Wire.PathBody.class, op.wireName() + " request").resolvedPath();
            case LIST_RECURSIVE -> Wire.read(body, Wire.ListRecursiveBody.class, "list_recursive request");
            case DELETE_FILE -> Wire.read(body, Wire.DeleteBody.class, "delete_file request");
            case MOVE_FILE -> Wire.read(body, Wire.MoveBody.class, "move_file request");
            case EDIT_FILE -> Wire.read(body, Wire.EditBody.class, "edit_file request");
            case WRITE_FILE -> Wire.read(body, Wire.WriteFileBody.class, "write_file request");
            case READ_FILE -> Wire.read(body, Wire.ReadFileBody.class, "read_file request");
            case LIST_FILES -> Wire.read(body, Wire.ListFilesBody.class, "list_files request").resolvedPath();
            case RESTORE -> Wire.read(body, Wire.RestoreBody.class, "restore request").checkpointId();
            case FORK -> Wire.read(body, Wire.ForkBody.class, "fork request").checkedCount();
            default -> {
                drain(body);
                yield null;
            }
        };
        Lock lock = exclusive ? rw.writeLock() : rw.readLock();
        if (exclusive) {
            if (!lock.tryLock(EXCLUSIVE_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new WorkspaceBusyException("workspace " + id + " is busy with other operations; "
                        + op.wireName() + " waited " + EXCLUSIVE_WAIT.toSeconds() + " s, try again later");
            }
        } else {
            lock.lockInterruptibly();
        }
        try {
            return run(op, ws, request, output);
        } finally {
            lock.unlock();
        }
    }

    private Reply run(Operation op, Workspace ws, Object request, OutputListener output) {
        if (request instanceof Background b) {
            dev.derrick.api.WorkspaceProcess p = ws.start(b.request());
            log.info("workspace {} started background process {}", ws.id(), p.id());
            return Reply.json(new Wire.PidReply(p.id()));
        }
        switch (op) {
            case INFO:
                return Reply.json(Wire.WorkspaceInfoBody.from(ws.info()));
            case STAT: {
                String path = (String) request;
                return ws.stat(path).map(st -> Reply.json(Wire.FileStatBody.from(st))).orElseGet(() -> Reply.error(
                        WireError.of(404, WireError.FILE_NOT_FOUND, "nothing at '" + path + "' in workspace " + ws.id())));
            }
            case MKDIR:
                ws.mkdirs((String) request);
                return Reply.json(Wire.Success.TRUE);
            case LIST_RECURSIVE: {
                Wire.ListRecursiveBody l = (Wire.ListRecursiveBody) request;
                return Reply.json(Wire.FileTree.from(ws.listFiles(l.resolvedPath(), l.depth(), l.entries())));
            }
            case DELETE_FILE: {
                Wire.DeleteBody d = (Wire.DeleteBody) request;
                ws.delete(d.resolvedPath(), Boolean.TRUE.equals(d.recursive()));
                return Reply.json(Wire.Success.TRUE);
            }
            case MOVE_FILE: {
                Wire.MoveBody m = (Wire.MoveBody) request;
                ws.move(m.resolvedFrom(), m.resolvedTo());
                return Reply.json(Wire.Success.TRUE);
            }
            case EDIT_FILE: {
                Wire.EditBody e = (Wire.EditBody) request;
                return Reply.json(new Wire.EditReply(ws.editFile(e.resolvedPath(), e.oldString(), e.newString(),
                        Boolean.TRUE.equals(e.replaceAll()))));
            }
            case DIFF: {
                long start = System.nanoTime();
                dev.derrick.api.WorkspaceDiff diff = ws.diff();
                log.info("workspace {} diff in {} ms", ws.id(), (System.nanoTime() - start) / 1_000_000);
                return Reply.json(Wire.DiffReply.from(diff));
            }
            case PROCESSES:
                return Reply.json(new Wire.ProcessList(ws.processes().stream()
                        .map(p -> Wire.ProcessBody.from(p.info())).toList()));
            case CMD_WITH_OUTPUT:
                return Reply.json(Wire.CmdResult.from(ws.exec((ExecRequest) request, output)));
            case CMD: {
                ExecResult result = ws.exec((ExecRequest) request, output);
                return result.succeeded() ? Reply.json(Wire.CmdResult.from(result))
                        : Reply.error(WireError.commandFailed(result));
            }
            case WRITE_FILE: {
                Wire.WriteFileBody w = (Wire.WriteFileBody) request;
                if (w.content() == null) {
                    throw new InvalidConfigException("write_file request: 'content' (base64) is missing");
                }
                ws.writeFile(w.resolvedPath(), w.content());
                return Reply.json(Wire.Success.TRUE);
            }
            case READ_FILE:
                return readFile(ws, ((Wire.ReadFileBody) request).resolvedPath());
            case LIST_FILES:
                return listFiles(ws, (String) request);
            case FETCH:
                return Reply.json(Wire.FetchReply.from(ws.fetch()));
            case CHECKPOINT: {
                long start = System.nanoTime();
                String checkpoint = ws.checkpoint();
                log.info("workspace {} checkpoint {} in {} ms", ws.id(), checkpoint,
                        (System.nanoTime() - start) / 1_000_000);
                return Reply.json(new Wire.CheckpointReply(checkpoint));
            }
            case RESTORE: {
                long start = System.nanoTime();
                ws.restore((String) request);
                log.info("workspace {} restored to {} in {} ms", ws.id(), request,
                        (System.nanoTime() - start) / 1_000_000);
                return Reply.json(Wire.Success.TRUE);
            }
            case FORK: {
                long start = System.nanoTime();
                List<String> ids = ws.fork((Integer) request).stream().map(Workspace::id).toList();
                log.info("workspace {} forked into {} in {} ms", ws.id(), ids, (System.nanoTime() - start) / 1_000_000);
                return Reply.json(new Wire.ForkReply(ids));
            }
            case RESET: {
                long start = System.nanoTime();
                ws.reset();
                log.info("workspace {} reset in {} ms", ws.id(), (System.nanoTime() - start) / 1_000_000);
                return Reply.json(Wire.Success.TRUE);
            }
            default:
                throw new IllegalStateException("unhandled operation " + op);
        }
    }

    /**
     * Reads a file; a file that is not there is a 404 {@code file_not_found}, not a fault. Built-in providers say so
     * with {@link dev.derrick.api.WorkspaceFileNotFoundException}; for a third-party provider that throws a plain
     * {@code DerrickException}, the parent directory is listed to tell a missing file from a fault.
     */
    private Reply readFile(Workspace ws, String path) {
        try {
            return Reply.bytes(ws.readFile(path));
        } catch (dev.derrick.api.DerrickException e) {
            if (e.getClass() == dev.derrick.api.DerrickException.class && !exists(ws, path)) {
                return Reply.error(WireError.of(404, WireError.FILE_NOT_FOUND, redactor.redact(e.getMessage())));
            }
            throw e;
        }
    }

    /**
     * Lists a directory; one that is not there is a 404 {@code file_not_found}, as for {@link #readFile}: built-in
     * providers throw {@link dev.derrick.api.WorkspaceFileNotFoundException}, and for a third-party provider that
     * fails otherwise the parent directory is listed to tell a missing directory from a fault.
     */
    private Reply listFiles(Workspace ws, String path) {
        try {
            return Reply.json(Wire.FileList.from(ws.listFiles(path)));
        } catch (dev.derrick.api.DerrickException | java.io.UncheckedIOException e) {
            boolean plain = e.getClass() == dev.derrick.api.DerrickException.class
                    || e instanceof java.io.UncheckedIOException;
            if (plain && !dev.derrick.api.WorkspacePaths.normalizeRelative(path, "path").isEmpty() && !exists(ws, path)) {
                return Reply.error(WireError.of(404, WireError.FILE_NOT_FOUND, "no directory '" + path
                        + "' in workspace " + ws.id()));
            }
            throw e;
        }
    }

    /** Whether {@code path} is listed in its parent directory, through the provider-neutral {@code listFiles}. */
    private static boolean exists(Workspace ws, String path) {
        String rel = dev.derrick.api.WorkspacePaths.normalizeRelative(path, "path");
        int slash = rel.lastIndexOf('/');
        String parent = slash < 0 ? "" : rel.substring(0, slash);
        String name = rel.substring(slash + 1);
        try {
            return ws.listFiles(parent).stream().anyMatch(f -> f.name().equals(name));
        } catch (RuntimeException parentMissing) {
            return false;
        }
    }

    /** A {@code cmd} with {@code background: true}. */
    private record Background(ExecRequest request) {
    }

    /**
     * The operations on one background process. They take no workspace lock: a process handle is thread-safe, and a
     * long-poll for output must not hold off a reset.
     */
    private Reply process(Operation op, String id, String pid, InputStream body) throws IOException {
        Workspace ws = provider.get(id);
        if (pid == null || pid.isBlank()) {
            throw new InvalidConfigException(op.wireName() + " needs a process id");
        }
        dev.derrick.api.WorkspaceProcess p = ws.process(pid).orElseThrow(() -> new dev.derrick.api.ProcessNotFoundException(
                "no background process '" + pid + "' in workspace " + id + " (GET /workspaces/" + id
                        + "/processes lists them)"));
        switch (op) {
            case PROCESS_INFO:
                drain(body);
                return Reply.json(Wire.ProcessBody.from(p.info()));
            case PROCESS_OUTPUT: {
                Wire.ProcessOutputBody b = Wire.read(body, Wire.ProcessOutputBody.class, "process_output request");
                long deadline = System.nanoTime() + b.waitDuration().toNanos();
                dev.derrick.api.ProcessOutput out = p.readOutput(b.from());
                while (out.output().isEmpty() && out.running() && System.nanoTime() < deadline) {
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                    out = p.readOutput(b.from());
                }
                return Reply.json(Wire.ProcessOutputReply.from(out));
            }
            case PROCESS_STDIN: {
                Wire.StdinBody b = Wire.read(body, Wire.StdinBody.class, "process_stdin request");
                byte[] data = b.bytes();
                if (data.length > 0) {
                    p.writeStdin(data);
                }
                if (Boolean.TRUE.equals(b.close())) {
                    p.closeStdin();
                }
                return Reply.json(Wire.Success.TRUE);
            }
            case PROCESS_WAIT: {
                Wire.WaitBody b = Wire.read(body, Wire.WaitBody.class, "process_wait request");
                java.util.Optional<ExecResult> r = p.waitFor(b.duration());
                return Reply.json(new Wire.WaitReply(Wire.ProcessBody.from(p.info()),
                        r.map(Wire.CmdResult::from).orElse(null)));
            }
            case PROCESS_KILL: {
                drain(body);
                ExecResult r = p.kill();
                log.info("workspace {} process {} killed", id, pid);
                return Reply.json(new Wire.WaitReply(Wire.ProcessBody.from(p.info()), Wire.CmdResult.from(r)));
            }
            default:
                throw new IllegalStateException("unhandled operation " + op);
        }
    }

    private Reply create(Wire.CreateBody body) {
        WorkspaceConfig config = body.configOr(defaultConfig);
        if (body.config() != null && !body.config().isNull()) {
            policy.check(config);
        }
        long start = System.nanoTime();
        log.info("[{}] creating workspace ({} repositories, setup script: {})", config.name(),
                config.repositories().size(), config.setupScript().isBlank() ? "none" : "yes");
        LoggingProgressListener progress = new LoggingProgressListener(
                LoggerFactory.getLogger("dev.derrick.server.progress"), config.name());
        // with a warm pool the request's env is its commands' (not the setup's): configs with different env share it
        Workspace ws = provider instanceof WorkspacePool pool
                ? pool.create(body.baseConfigOr(defaultConfig), body.env(), progress)
                : provider.create(config, progress);
        log.info("[{}] workspace {} ready in {} ms", config.name(), ws.id(), (System.nanoTime() - start) / 1_000_000);
        return Reply.json(new Wire.IdReply(ws.id()));
    }

    /**
     * A failure caused by the server's storage (disk full, file system read-only): a 503 saying so, not a 500; an
     * input too large for the kernel to pass to a process: {@code "413:"} and the message; {@code null} for anything
     * else.
     */
    static String storageFault(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            String m = c instanceof java.nio.file.FileSystemException f && f.getReason() != null ? f.getReason()
                    : c.getMessage();
            if (m != null && (m.contains("No space left on device") || m.contains("Disk quota exceeded"))) {
                return "the server's disk is full (" + firstLine(String.valueOf(e.getMessage()))
                        + "); nothing was kept, retry once space is freed";
            }
            if (m != null && (m.contains("Argument list too long") || m.contains("error=7,"))) {
                return "413:the command, its environment or the setup script is too large for this provider to pass"
                        + " to a process (" + firstLine(String.valueOf(e.getMessage())) + ")";
            }
            if (m != null && m.contains("Read-only file system")) {
                return "the server's storage is read-only (" + firstLine(String.valueOf(e.getMessage()))
                        + "); retry once it can be written";
            }
        }
        return null;
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private static void drain(InputStream body) throws IOException {
        body.transferTo(java.io.OutputStream.nullOutputStream());
    }

    /** Closes the provider: removes every workspace and ends every process it started. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            int n;
            try {
                n = provider.list().size();
            } catch (RuntimeException e) {
                n = -1;
            }
            long start = System.nanoTime();
            provider.close();
            if (n != 0) {
                log.info("provider {} closed ({} workspace(s) removed) in {} ms", provider.name(),
                        n < 0 ? "?" : String.valueOf(n), (System.nanoTime() - start) / 1_000_000);
            } else {
                log.debug("provider {} closed", provider.name());
            }
        }
    }
}
