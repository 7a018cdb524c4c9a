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
    public record CmdBody(String cmd, String workingDir, Map<String, String> env, Double timeout) {
        /** The API request; throws {@link InvalidConfigException} for a missing {@code cmd} or a bad timeout. */
        public ExecRequest toRequest() {
            if (timeout != null && (timeout.isNaN() || timeout <= 0 || timeout.isInfinite())) {
                throw new InvalidConfigException("'timeout' must be a positive number of seconds, got " + timeout);
            }
            if (env != null) {
                env.forEach((k, v) -> {
                    if (k == null || k.isEmpty() || k.contains("=") || v == null) {
                        throw new InvalidConfigException("'env' has an invalid entry '" + k + "'");
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
    }

    /**
     * Body of a create request: {@code {"env": {…}, "config"?: {…}}}. Both may be absent.
     *
     * @param env    extra environment for the setup script and every command
     * @param config a workspace config (the {@code -w} file's format) replacing the server's own
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record CreateBody(Map<String, String> env, JsonNode config) {
        /** The config this request asks for, or {@code fallback} when it carries none. */
        public WorkspaceConfig configOr(WorkspaceConfig fallback) {
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
            return base.withEnv(env);
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

    /** A repository in a workspace. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record RepositoryStateBody(String path, String url, String commit, String branch) {
        public static RepositoryStateBody from(RepositoryState s) {
            return new RepositoryStateBody(s.path(), s.url(), s.commit(), s.branch());
        }

        public RepositoryState toState() {
            return new RepositoryState(path, url, commit, branch);
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

    /** One repository's fetch outcome. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record RepositoryFetchBody(String path, String before, String after, boolean updated, String status) {
        public static RepositoryFetchBody from(RepositoryFetch f) {
            return new RepositoryFetchBody(f.path(), f.before(), f.after(), f.updated(), f.status());
        }

        public RepositoryFetch toFetch() {
            return new RepositoryFetch(path, before, after, updated, status);
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
        try {
            T value = Json.mapper().readValue(in, type);
            if (value == null) {
                throw new InvalidConfigException(what + ": expected a JSON object, got null");
            }
            return value;
        } catch (JsonProcessingException e) {
            throw translate(what, e);
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
