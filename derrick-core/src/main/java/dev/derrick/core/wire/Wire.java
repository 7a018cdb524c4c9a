package dev.derrick.core.wire;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.FileEntry;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.RepositoryState;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceInfo;
import dev.derrick.core.json.Json;
import static dev.derrick.core.json.JsonErrors.describe;
import static dev.derrick.core.json.JsonErrors.firstLine;
import static dev.derrick.core.json.JsonErrors.location;
import static dev.derrick.core.json.JsonErrors.path;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The JSON bodies of derrick's wire protocol, shared by every transport: the HTTP server, the NATS agent and the
 * {@code remote_http} / {@code remote_nats} clients. Field names are {@code snake_case}; the original tool's fields
 * ({@code cmd}, {@code working_dir}, {@code env}, {@code timeout}, {@code output}, {@code exit_code}, {@code path},
 * {@code content}) keep their names and meaning. Unknown fields in a request are an error that names them.
 *
 * <pre>{@code
 * ExecRequest request = Wire.read(body, Wire.CmdBody.class, "cmd request").toRequest();
 * byte[] reply = Wire.write(Wire.CmdResult.from(workspace.exec(request)));
 * }</pre>
 */
public final class Wire {
    private Wire() {
    }

    // ---------------------------------------------------------------------------------------------- requests

    /**
     * Body of {@code cmd} and {@code cmd_with_output}.
     *
     * @param cmd        shell command ({@code sh -c} semantics)
     * @param workingDir directory relative to the workspace root, or {@code null} for the root
     * @param env        extra environment on top of the workspace's
     * @param timeout    seconds (fractions allowed), or {@code null} for the provider's default
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record CmdBody(String cmd, String workingDir, Map<String, String> env, Double timeout, Boolean background) {
        /** Longest command timeout accepted over the wire: 7 days. */
        public static final long MAX_TIMEOUT_SECONDS = 7L * 24 * 3600;

        /** A foreground command body. */
        public CmdBody(String cmd, String workingDir, Map<String, String> env, Double timeout) {
            this(cmd, workingDir, env, timeout, null);
        }

        /** Whether the command is to run in the background (the reply is then a process id). */
        public boolean inBackground() {
            return Boolean.TRUE.equals(background);
        }

        /** The API request; throws {@link InvalidConfigException} for a missing {@code cmd} or a bad timeout. */
        public ExecRequest toRequest() {
            if (timeout != null && (timeout.isNaN() || timeout <= 0 || timeout.isInfinite())) {
                throw new InvalidConfigException("'timeout' must be a positive number of seconds, got " + timeout);
            }
            if (timeout != null && timeout > MAX_TIMEOUT_SECONDS) {
                throw new InvalidConfigException("'timeout' must be at most " + MAX_TIMEOUT_SECONDS
                        + " seconds (7 days), got " + timeout);
            }
            if (cmd != null && cmd.indexOf('\0') >= 0) {
                throw new InvalidConfigException("'cmd' contains a NUL byte, which no shell command can hold");
            }
            if (workingDir != null && workingDir.indexOf('\0') >= 0) {
                throw new InvalidConfigException("'working_dir' contains a NUL byte");
            }
            if (env != null) {
                env.forEach((k, v) -> {
                    if (k == null || k.isEmpty() || k.contains("=") || v == null || k.indexOf('\0') >= 0) {
                        throw new InvalidConfigException("'env' has an invalid entry '" + k + "'");
                    }
                    if (v.indexOf('\0') >= 0) {
                        throw new InvalidConfigException("'env' value of '" + k + "' contains a NUL byte");
                    }
                });
            }
            return new ExecRequest(cmd, workingDir, env,
                    timeout == null ? null : Duration.ofMillis(Math.max(1, Math.round(timeout * 1000))));
        }

        /** The wire form of an API request. */
        public static CmdBody from(ExecRequest request) {
            return new CmdBody(request.command(), request.workingDir(), request.env().isEmpty() ? null : request.env(),
                    request.timeout() == null ? null : request.timeout().toMillis() / 1000.0);
        }

        /** The wire form of a background start. */
        public static CmdBody background(ExecRequest request) {
            CmdBody b = from(request);
            return new CmdBody(b.cmd(), b.workingDir(), b.env(), b.timeout(), Boolean.TRUE);
        }
    }

    /**
     * Body of a create request: {@code {"env": {…}, "config"?: {…}}}. Both may be absent.
     *
     * @param env    extra environment for the setup script and every command
     * @param config a workspace config (the {@code -w} file's format) replacing the server's own
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record CreateBody(Map<String, String> env, JsonNode config) {
        /** The config this request asks for, or {@code fallback} when it carries none, with the request's env. */
        public WorkspaceConfig configOr(WorkspaceConfig fallback) {
            return baseConfigOr(fallback).withEnv(env);
        }

        /** The config this request asks for, or {@code fallback}, without the request's env (a pool's key). */
        public WorkspaceConfig baseConfigOr(WorkspaceConfig fallback) {
            WorkspaceConfig base;
            if (config != null && !config.isNull()) {
                if (!config.isObject()) {
                    throw new InvalidConfigException("'config' must be a JSON object in the workspace-config format");
                }
                base = WorkspaceConfig.fromJson(config.toString(), "request 'config'");
            } else if (fallback != null) {
                base = fallback;
            } else {
                throw new InvalidConfigException("this server was started without a workspace config (-w); "
                        + "the create request needs a 'config'");
            }
            return base;
        }

        /** The wire form of a config (with inline tokens, if it has any: prefer {@code token_env}). */
        public static CreateBody of(WorkspaceConfig config, Map<String, String> env) {
            JsonNode node = null;
            if (config != null) {
                try {
                    node = Json.mapper().readTree(config.toJson());
                } catch (JsonProcessingException e) {
                    throw new IllegalStateException("cannot write workspace config", e);
                }
            }
            return new CreateBody(env == null || env.isEmpty() ? null : env, node);
        }
    }

    /**
     * Body of {@code write_file}. {@code content} is base64 on the wire (standard alphabet; line breaks, as Ruby's
     * {@code Base64.encode64} writes them, are accepted).
     *
     * @param path       file path, relative to {@code working_dir} (or to the root); a leading {@code /} means
     *                   from the root
     * @param content    the bytes
     * @param workingDir directory {@code path} is relative to, or {@code null}
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record WriteFileBody(String path, byte[] content, String workingDir) {
        /** The path relative to the workspace root. */
        public String resolvedPath() {
            return resolve(path, workingDir);
        }
    }

    /**
     * Body of {@code read_file}; the reply is the file's raw bytes.
     *
     * @param path       file path (see {@link WriteFileBody})
     * @param workingDir directory {@code path} is relative to, or {@code null}
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ReadFileBody(String path, String workingDir) {
        /** The path relative to the workspace root. */
        public String resolvedPath() {
            return resolve(path, workingDir);
        }
    }

    /**
     * Body of {@code list_files}: {@code {"path"?, "working_dir"?}}. A missing or empty {@code path} lists the
     * directory {@code working_dir} names, or the root.
     *
     * @param path       directory path (see {@link WriteFileBody})
     * @param workingDir directory {@code path} is relative to, or {@code null}
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ListFilesBody(String path, String workingDir) {
        /** The directory relative to the workspace root; {@code ""} is the root. */
        public String resolvedPath() {
            if (path == null || path.isEmpty()) {
                return workingDir == null ? "" : workingDir;
            }
            return resolve(path, workingDir);
        }
    }

    /**
     * Body of {@code restore}: {@code {"checkpoint": id}}, an id a {@code checkpoint} reply gave.
     *
     * @param checkpoint the checkpoint id
     */
    public record RestoreBody(String checkpoint) {
        /** The id; throws {@link InvalidConfigException} when it is missing or blank. */
        public String checkpointId() {
            if (checkpoint == null || checkpoint.isBlank()) {
                throw new InvalidConfigException("restore request: 'checkpoint' is missing or empty");
            }
            return checkpoint;
        }
    }

    /**
     * Body of {@code stat}, {@code mkdir}: {@code {"path", "working_dir"?}}.
     *
     * @param path       the path (see {@link WriteFileBody})
     * @param workingDir directory {@code path} is relative to, or {@code null}
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record PathBody(String path, String workingDir) {
        /** The path relative to the workspace root. */
        public String resolvedPath() {
            return resolve(path, workingDir);
        }
    }

    /**
     * Body of {@code list_recursive}: {@code {"path"?, "working_dir"?, "max_depth"?, "max_entries"?}}.
     *
     * @param maxDepth   1 lists the directory's own entries; default {@value #DEFAULT_DEPTH}
     * @param maxEntries at most this many entries; default {@value #DEFAULT_ENTRIES}, at most {@value #MAX_ENTRIES}
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ListRecursiveBody(String path, String workingDir, Integer maxDepth, Integer maxEntries) {
        public static final int DEFAULT_DEPTH = 3;
        public static final int DEFAULT_ENTRIES = 1000;
        public static final int MAX_ENTRIES = 100_000;

        public String resolvedPath() {
            return new ListFilesBody(path, workingDir).resolvedPath();
        }

        public int depth() {
            int d = maxDepth == null ? DEFAULT_DEPTH : maxDepth;
            if (d < 1 || d > 1000) {
                throw new InvalidConfigException("'max_depth' must be between 1 and 1000, got " + d);
            }
            return d;
        }

        public int entries() {
            int n = maxEntries == null ? DEFAULT_ENTRIES : maxEntries;
            if (n < 1 || n > MAX_ENTRIES) {
                throw new InvalidConfigException("'max_entries' must be between 1 and " + MAX_ENTRIES + ", got " + n);
            }
            return n;
        }
    }

    /** Body of {@code delete_file}: {@code {"path", "working_dir"?, "recursive"?}}. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record DeleteBody(String path, String workingDir, Boolean recursive) {
        public String resolvedPath() {
            return resolve(path, workingDir);
        }
    }

    /** Body of {@code move_file}: {@code {"from", "to", "working_dir"?}}. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record MoveBody(String from, String to, String workingDir) {
        public String resolvedFrom() {
            if (from == null || from.isBlank()) {
                throw new InvalidConfigException("move_file request: 'from' is missing or empty");
            }
            return resolve(from, workingDir);
        }

        public String resolvedTo() {
            if (to == null || to.isBlank()) {
                throw new InvalidConfigException("move_file request: 'to' is missing or empty");
            }
            return resolve(to, workingDir);
        }
    }

    /**
     * Body of {@code edit_file}: replace {@code old_string} by {@code new_string}, which must occur once unless
     * {@code replace_all}.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record EditBody(String path, String oldString, String newString, Boolean replaceAll, String workingDir) {
        public String resolvedPath() {
            return resolve(path, workingDir);
        }
    }

    /** Reply of {@code edit_file}: how many occurrences were replaced. */
    public record EditReply(int replacements) {
    }

    /** Body of {@code process_output}: {@code {"offset"?, "wait"? (s)}}: long-polls up to {@code wait} for output. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ProcessOutputBody(Long offset, @com.fasterxml.jackson.annotation.JsonProperty("wait") Double waitSeconds) {
        /** Longest a long-poll may hold a request. */
        public static final double MAX_WAIT_SECONDS = 30;

        public long from() {
            return offset == null ? 0 : Math.max(0, offset);
        }

        public Duration waitDuration() {
            return seconds(waitSeconds, MAX_WAIT_SECONDS, "wait");
        }
    }

    /** Body of {@code process_stdin}: {@code {"data"? (base64), "text"?, "close"?}}. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record StdinBody(byte[] data, String text, Boolean close) {
        public byte[] bytes() {
            if (data != null && text != null) {
                throw new InvalidConfigException("process_stdin request: give 'data' (base64) or 'text', not both");
            }
            return data != null ? data : text != null ? text.getBytes(java.nio.charset.StandardCharsets.UTF_8) : new byte[0];
        }
    }

    /** Body of {@code process_wait}: {@code {"timeout"? (s)}}; default and maximum 30 s. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record WaitBody(Double timeout) {
        public Duration duration() {
            Duration d = seconds(timeout, ProcessOutputBody.MAX_WAIT_SECONDS, "timeout");
            return timeout == null ? Duration.ofSeconds((long) ProcessOutputBody.MAX_WAIT_SECONDS) : d;
        }
    }

    private static Duration seconds(Double value, double max, String field) {
        if (value == null) {
            return Duration.ZERO;
        }
        if (value.isNaN() || value < 0 || value > max) {
            throw new InvalidConfigException("'" + field + "' must be between 0 and " + (long) max + " seconds, got " + value);
        }
        return Duration.ofMillis(Math.round(value * 1000));
    }

    // ----------------------------------------------------------------------------------------------- replies

    /**
     * Reply of {@code cmd_with_output}: the original's {@code output} and {@code exit_code} plus the rest of
     * {@link ExecResult}.
     */
    public record CmdResult(String output, int exitCode, String stdout, String stderr, boolean timedOut,
                            long durationMs, boolean truncated) {
        public static CmdResult from(ExecResult r) {
            return new CmdResult(r.output(), r.exitCode(), r.stdout(), r.stderr(), r.timedOut(),
                    r.elapsed().toMillis(), r.truncated());
        }

        public ExecResult toResult() {
            return new ExecResult(exitCode, stdout, stderr, output, Duration.ofMillis(durationMs), timedOut, truncated);
        }
    }

    /** Reply of create: {@code {"id": …}}. */
    public record IdReply(String id) {
    }

    /** Reply of list: {@code {"workspaces": [{"id": …, …}]}}. */
    public record WorkspaceList(List<WorkspaceInfoBody> workspaces) {
        public static WorkspaceList from(List<WorkspaceInfo> infos) {
            return new WorkspaceList(infos.stream().map(WorkspaceInfoBody::from).collect(Collectors.toList()));
        }
    }

    /** A workspace's details; never a token. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record WorkspaceInfoBody(String id, String provider, String configName, String root, Instant created,
                                    List<RepositoryStateBody> repositories, String cacheEntry, String isolation) {
        public static WorkspaceInfoBody from(WorkspaceInfo info) {
            return new WorkspaceInfoBody(info.id(), info.provider(), info.configName(), info.root(), info.created(),
                    info.repositories().stream().map(RepositoryStateBody::from).collect(Collectors.toList()),
                    info.cacheEntry(), info.isolation());
        }

        public WorkspaceInfo toInfo() {
            return new WorkspaceInfo(id, provider, configName, root, created,
                    repositories == null ? List.of()
                            : repositories.stream().map(RepositoryStateBody::toState).collect(Collectors.toList()),
                    cacheEntry, isolation);
        }
    }

    /**
     * A repository in a workspace: {@code path, url, commit, branch}, the config's {@code name}, and how it compares
     * with its remote ({@code remote_commit}, {@code behind}, {@code status}; see {@link RepositoryState}).
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record RepositoryStateBody(String path, String url, String commit, String branch, String name,
                                      String remoteCommit, Boolean behind, String status) {
        public static RepositoryStateBody from(RepositoryState s) {
            return new RepositoryStateBody(s.path(), s.url(), s.commit(), s.branch(), s.name(), s.remoteCommit(),
                    s.behind(), s.status());
        }

        public RepositoryState toState() {
            return new RepositoryState(path, url, commit, branch, name, remoteCommit, Boolean.TRUE.equals(behind), status);
        }
    }

    /** Reply of {@code fetch}: {@code {"repositories": [{path, before, after, updated, status}]}}. */
    public record FetchReply(List<RepositoryFetchBody> repositories) {
        public static FetchReply from(List<RepositoryFetch> fetches) {
            return new FetchReply(fetches.stream().map(RepositoryFetchBody::from).collect(Collectors.toList()));
        }

        public List<RepositoryFetch> toFetches() {
            return repositories == null ? List.of()
                    : repositories.stream().map(RepositoryFetchBody::toFetch).collect(Collectors.toList());
        }
    }

    /** One repository's fetch outcome; {@code remote} is the remote branch's commit when known. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record RepositoryFetchBody(String path, String before, String after, boolean updated, String status,
                                      String remote) {
        public static RepositoryFetchBody from(RepositoryFetch f) {
            return new RepositoryFetchBody(f.path(), f.before(), f.after(), f.updated(), f.status(), f.remote());
        }

        public RepositoryFetch toFetch() {
            return new RepositoryFetch(path, before, after, updated, status, remote);
        }
    }

    /** Reply of {@code list_files}: {@code {"entries": [{name, path, directory, size}]}}, sorted by name. */
    public record FileList(List<FileEntryBody> entries) {
        public static FileList from(List<FileEntry> entries) {
            return new FileList(entries.stream().map(FileEntryBody::from).collect(Collectors.toList()));
        }

        public List<FileEntry> toEntries() {
            return entries == null ? List.of()
                    : entries.stream().map(FileEntryBody::toEntry).collect(Collectors.toList());
        }
    }

    /**
     * One directory entry, as {@link FileEntry}.
     *
     * @param name      file name
     * @param path      path relative to the workspace root
     * @param directory whether it is a directory
     * @param size      size in bytes (0 for directories)
     */
    public record FileEntryBody(String name, String path, boolean directory, long size) {
        public static FileEntryBody from(FileEntry e) {
            return new FileEntryBody(e.name(), e.path(), e.directory(), e.size());
        }

        public FileEntry toEntry() {
            return new FileEntry(name, path, directory, size);
        }
    }

    /** One path's details, as {@link dev.derrick.api.FileStat}; {@code mode} is octal text, e.g. {@code "0644"}. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record FileStatBody(String path, String type, long size, String mode, Instant modified, String linkTarget) {
        public static FileStatBody from(dev.derrick.api.FileStat s) {
            return new FileStatBody(s.path(), s.type().name().toLowerCase(java.util.Locale.ROOT), s.size(), s.octalMode(),
                    s.modified(), s.linkTarget());
        }

        public dev.derrick.api.FileStat toStat() {
            dev.derrick.api.FileType t;
            try {
                t = dev.derrick.api.FileType.valueOf(String.valueOf(type).toUpperCase(java.util.Locale.ROOT));
            } catch (IllegalArgumentException e) {
                t = dev.derrick.api.FileType.OTHER;
            }
            int m = 0;
            try {
                m = mode == null ? 0 : Integer.parseInt(mode, 8);
            } catch (NumberFormatException ignored) {
                // an agent that sent nonsense: keep 0
            }
            return new dev.derrick.api.FileStat(path, t, size, m, modified, linkTarget);
        }
    }

    /** Reply of {@code list_recursive}. */
    public record FileTree(List<FileStatBody> entries, boolean truncated) {
        public static FileTree from(dev.derrick.api.FileListing l) {
            return new FileTree(l.entries().stream().map(FileStatBody::from).collect(Collectors.toList()), l.truncated());
        }

        public dev.derrick.api.FileListing toListing() {
            return new dev.derrick.api.FileListing(entries == null ? List.of()
                    : entries.stream().map(FileStatBody::toStat).collect(Collectors.toList()), truncated);
        }
    }

    /** A changed path of a diff: {@code {path, kind: added|modified|deleted, binary}}. */
    public record ChangedFileBody(String path, String kind, boolean binary) {
        public static ChangedFileBody from(dev.derrick.api.ChangedFile c) {
            return new ChangedFileBody(c.path(), c.kind().name().toLowerCase(java.util.Locale.ROOT), c.binary());
        }

        public dev.derrick.api.ChangedFile toChange() {
            return new dev.derrick.api.ChangedFile(path, dev.derrick.api.ChangeKind.valueOf(
                    String.valueOf(kind).toUpperCase(java.util.Locale.ROOT)), binary);
        }
    }

    /** One repository's diff. */
    public record RepositoryDiffBody(String path, String base, String patch, List<ChangedFileBody> files) {
        public static RepositoryDiffBody from(dev.derrick.api.RepositoryDiff d) {
            return new RepositoryDiffBody(d.path(), d.base(), d.patch(),
                    d.files().stream().map(ChangedFileBody::from).collect(Collectors.toList()));
        }

        public dev.derrick.api.RepositoryDiff toDiff() {
            return new dev.derrick.api.RepositoryDiff(path, base, patch, files == null ? List.of()
                    : files.stream().map(ChangedFileBody::toChange).collect(Collectors.toList()));
        }
    }

    /** Reply of {@code diff}. */
    public record DiffReply(List<RepositoryDiffBody> repositories, List<ChangedFileBody> outsideRepositories,
                            boolean outsideTracked) {
        public static DiffReply from(dev.derrick.api.WorkspaceDiff d) {
            return new DiffReply(d.repositories().stream().map(RepositoryDiffBody::from).collect(Collectors.toList()),
                    d.outsideRepositories().stream().map(ChangedFileBody::from).collect(Collectors.toList()),
                    d.outsideTracked());
        }

        public dev.derrick.api.WorkspaceDiff toDiff() {
            return new dev.derrick.api.WorkspaceDiff(
                    repositories == null ? List.of() : repositories.stream().map(RepositoryDiffBody::toDiff).toList(),
                    outsideRepositories == null ? List.of()
                            : outsideRepositories.stream().map(ChangedFileBody::toChange).toList(), outsideTracked);
        }
    }

    /** A background process's state ({@code pid} is derrick's handle id, not an OS pid). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ProcessBody(String pid, String command, Instant started, boolean running, Integer exitCode,
                              long durationMs, boolean killed) {
        public static ProcessBody from(dev.derrick.api.ProcessInfo i) {
            return new ProcessBody(i.id(), i.command(), i.started(), i.running(), i.exitCode(), i.elapsed().toMillis(),
                    i.killed());
        }

        public dev.derrick.api.ProcessInfo toInfo() {
            return new dev.derrick.api.ProcessInfo(pid, command, started, running, exitCode,
                    Duration.ofMillis(durationMs), killed);
        }
    }

    /** Reply of {@code processes}. */
    public record ProcessList(List<ProcessBody> processes) {
    }

    /** Reply of a background start: {@code {"pid": …}}. */
    public record PidReply(String pid) {
    }

    /** Reply of {@code process_output}. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ProcessOutputReply(String output, long offset, long nextOffset, boolean dropped, boolean running,
                                     Integer exitCode) {
        public static ProcessOutputReply from(dev.derrick.api.ProcessOutput o) {
            return new ProcessOutputReply(o.output(), o.offset(), o.nextOffset(), o.dropped(), o.running(), o.exitCode());
        }

        public dev.derrick.api.ProcessOutput toOutput() {
            return new dev.derrick.api.ProcessOutput(output, offset, nextOffset, dropped, running, exitCode);
        }
    }

    /** Reply of {@code process_wait}: the state, and the result once ended. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record WaitReply(ProcessBody process, CmdResult result) {
    }

    /**
     * Body of {@code fork}: {@code {"count": n}} (1 to {@link dev.derrick.api.Workspace#MAX_FORKS}).
     *
     * @param count how many new workspaces
     */
    public record ForkBody(Integer count) {
        /** The count; throws {@link InvalidConfigException} when it is missing or out of range. */
        public int checkedCount() {
            if (count == null) {
                throw new InvalidConfigException("fork request: 'count' is missing");
            }
            return dev.derrick.api.Workspace.checkForkCount(count);
        }
    }

    /** Reply of {@code fork}: {@code {"ids": [...]}}, the new workspaces in order. */
    public record ForkReply(List<String> ids) {
    }

    /** Reply of {@code checkpoint}: {@code {"checkpoint": id}}, the id {@code restore} takes. */
    public record CheckpointReply(String checkpoint) {
    }

    /** {@code {"success": true}}, the reply of {@code write_file}, {@code reset} and {@code restore}. */
    public record Success(boolean success) {
        public static final Success TRUE = new Success(true);
    }

    /** {@code {"healthy": true}}. */
    public record Health(boolean healthy) {
    }

    // ------------------------------------------------------------------------------------------------ codec

    /**
     * Reads a JSON body. An empty body reads as {@code {}}.
     *
     * @param what names the body in error messages, e.g. "cmd request"
     * @throws InvalidConfigException for malformed JSON (with line and column), an unknown field or a wrong type
     * @throws IOException when reading the stream fails (e.g. the transport's size limit)
     */
    public static <T> T read(InputStream body, Class<T> type, String what) throws IOException {
        java.io.PushbackInputStream in = new java.io.PushbackInputStream(body, 1);
        int first = in.read();
        if (first < 0) {
            return read(new byte[] {'{', '}'}, type, what);
        }
        in.unread(first);
        // Strict UTF-8: malformed and overlong sequences (C0 AF for '/') are refused, not decoded.
        java.io.Reader text = new java.io.InputStreamReader(in, java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT));
        try {
            T value = Json.mapper().readValue(text, type);
            if (value == null) {
                throw new InvalidConfigException(what + ": expected a JSON object, got null");
            }
            return value;
        } catch (JsonProcessingException e) {
            throw translate(what, e);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new InvalidConfigException(what + ": the body is not valid UTF-8 (" + e.getMessage() + ")");
        }
    }

    /** Reads a JSON body held in memory; see {@link #read(InputStream, Class, String)}. */
    public static <T> T read(byte[] body, Class<T> type, String what) {
        try {
            return read(new java.io.ByteArrayInputStream(body == null ? new byte[0] : body), type, what);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** A value as UTF-8 JSON bytes. */
    public static byte[] write(Object value) {
        try {
            return Json.mapper().writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }

    /** {@code path} resolved against {@code workingDir} (both relative to the root; a leading {@code /} is the root). */
    public static String resolve(String path, String workingDir) {
        if (path == null || path.isBlank()) {
            throw new InvalidConfigException("'path' is missing or empty");
        }
        if (path.startsWith("/") || workingDir == null || workingDir.isBlank()) {
            return path;
        }
        return workingDir.endsWith("/") ? workingDir + path : workingDir + "/" + path;
    }

    /** Turns a Jackson failure into one line naming the body, the field, and line and column. */
    static InvalidConfigException translate(String what, JsonProcessingException e) {
        String at = location(e.getLocation());
        if (e instanceof UnrecognizedPropertyException u) {
            String known = u.getKnownPropertyIds() == null ? "" : u.getKnownPropertyIds().stream()
                    .map(Object::toString).sorted().collect(Collectors.joining(", "));
            return new InvalidConfigException(what + ": unknown field '" + u.getPropertyName() + "'" + at
                    + (known.isEmpty() ? "" : " (known fields: " + known + ")"));
        }
        if (e instanceof ValueInstantiationException v && v.getCause() instanceof InvalidConfigException cause) {
            return new InvalidConfigException(what + ": " + cause.getMessage() + at, cause);
        }
        if (e instanceof InvalidFormatException f && f.getTargetType() == byte[].class) {
            return new InvalidConfigException(what + ": field '" + path(f) + "' is not valid base64" + at);
        }
        if (e instanceof MismatchedInputException t && String.valueOf(t.getOriginalMessage()).startsWith("Trailing token")) {
            return new InvalidConfigException(what + ": malformed JSON" + at + ": something follows the JSON value;"
                    + " send one JSON value and nothing after it");
        }
        if (e instanceof MismatchedInputException m) {
            String field = path(m);
            return new InvalidConfigException(what + ": " + (field.isEmpty() ? "the body" : "field '" + field + "'")
                    + " has the wrong type" + at + (m.getTargetType() == null ? "" : "; expected " + describe(m.getTargetType())));
        }
        if (e instanceof JsonMappingException m && !m.getPath().isEmpty()) {
            return new InvalidConfigException(what + ": invalid value for '" + path(m) + "'" + at + ": "
                    + firstLine(m.getOriginalMessage()));
        }
        return new InvalidConfigException(what + ": malformed JSON" + at + ": " + firstLine(e.getOriginalMessage()));
    }

}
