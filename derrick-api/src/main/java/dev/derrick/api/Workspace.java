package dev.derrick.api;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * One isolated environment: a root directory with repositories checked out in it and a clean state to return to.
 * {@link #close()} tears it down. Implementations are thread-safe: commands may run concurrently in one workspace.
 *
 * <pre>{@code
 * try (Workspace ws = provider.create(config)) {
 *     ExecResult r = ws.exec(ExecRequest.of("ls code/repo"));
 *     ws.writeFile("notes.txt", "hello".getBytes(UTF_8));
 *     ws.reset();
 * }
 * }</pre>
 *
 * <p>Paths given to file operations and as working directories are relative to the workspace root; an absolute
 * path means a path inside the workspace ({@code local}: under the root; {@code docker}: in the container).
 */
public interface Workspace extends AutoCloseable {
    /** The workspace's id, unique within its provider. */
    String id();

    /** A description safe to show: repositories and their commits, created, cache entry. */
    WorkspaceInfo info();

    /** Runs a command and waits for it. Output is capped by the provider; see {@link ExecResult#truncated()}. */
    default ExecResult exec(ExecRequest request) {
        return exec(request, OutputListener.NONE);
    }

    /** Shorthand for {@code exec(ExecRequest.of(command))}. */
    default ExecResult exec(String command) {
        return exec(ExecRequest.of(command));
    }

    /** Runs a command, streaming its output to {@code listener} while it runs, and waits for it. */
    ExecResult exec(ExecRequest request, OutputListener listener);

    /**
     * Reads a file's bytes.
     *
     * @throws DerrickException when there is no such file or it is a directory (message names the path)
     */
    byte[] readFile(String path);

    /** Reads a file as UTF-8. */
    default String readString(String path) {
        return new String(readFile(path), StandardCharsets.UTF_8);
    }

    /** Writes a file, creating parent directories and replacing what was there. */
    void writeFile(String path, byte[] content);

    /** Writes a string as UTF-8. */
    default void writeString(String path, String content) {
        writeFile(path, content.getBytes(StandardCharsets.UTF_8));
    }

    /** Lists a directory's entries (not recursive), sorted by name. */
    List<FileEntry> listFiles(String path);

    /**
     * Fetches every repository's remote with the provider's credentials and fast-forwards clean checkouts. A dirty
     * work tree or a diverged branch is reported, never overwritten.
     */
    default List<RepositoryFetch> fetch() {
        throw new OperationNotSupportedException("fetch is not supported by this provider");
    }

    /** Returns the workspace to its clean post-setup state, keeping its id. */
    default void reset() {
        throw new OperationNotSupportedException("reset is not supported by this provider");
    }

    /** Records the current state and returns an id for {@link #restore(String)}. Checkpoints die with the workspace. */
    default String checkpoint() {
        throw new OperationNotSupportedException("checkpoint is not supported by this provider");
    }

    /** Returns to a state recorded by {@link #checkpoint()}. */
    default void restore(String checkpointId) {
        throw new OperationNotSupportedException("restore is not supported by this provider");
    }

    /**
     * Releases this workspace from its provider without tearing it down, so that it can be inspected after the
     * program ends (what {@code derrick-junit}'s {@code CleanupMode.ON_SUCCESS} does with a failed test's workspace).
     *
     * <ul>
     *   <li>Commands still running in it are ended, as by {@link #close()}: nothing keeps running unattended.</li>
     *   <li>Its files ({@code local}: the directory named by {@link WorkspaceInfo#root()}) or its container
     *       ({@code docker}, left running, labelled {@code derrick.workspace=<id>}) stay as they are. Closing the provider and the end
     *       of the JVM leave them alone.</li>
     *   <li>The provider forgets it: {@link WorkspaceProvider#list()} and {@code find} no longer return it, and this
     *       object refuses further use with {@link WorkspaceNotFoundException}; {@link #close()} afterwards does
     *       nothing (so {@code detach()} inside a try-with-resources block keeps the workspace), and so does a
     *       second {@code detach()}.</li>
     *   <li>It is not kept forever: it still carries its owner (this process), and once this process has ended, the
     *       next start of the same provider (same {@code local} root, same Docker engine) reaps it as an orphan.
     *       So a detached workspace lasts until the next run, not before — a provider started again in this same
     *       process leaves it alone.</li>
     * </ul>
     *
     * @throws WorkspaceNotFoundException     when the workspace was already closed (there is nothing left to keep)
     * @throws OperationNotSupportedException when the provider cannot keep a workspace beyond itself (the default)
     */
    default void detach() {
        throw new OperationNotSupportedException("detach is not supported by this provider: its workspaces end with it");
    }

    /**
     * Tears the workspace down: ends its processes and removes its directory or container. Idempotent; does nothing
     * after {@link #detach()}.
     */
    @Override
    void close();
}
