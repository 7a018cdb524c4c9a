package dev.derrick.api;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.Set;

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

    /**
     * The optional operations this workspace supports, decided by its provider and the provider's options: ask here
     * instead of catching {@link OperationNotSupportedException}. An operation whose {@link Capability} is missing
     * throws that exception; one whose capability is present works. The set does not change during the workspace's
     * life.
     *
     * <pre>{@code
     * if (ws.capabilities().contains(Capability.RESET)) {
     *     ws.reset();
     * }
     * }</pre>
     *
     * @return an immutable set; the default, for a provider that does not say, is empty
     */
    default Set<Capability> capabilities() {
        return Set.of();
    }

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
     * Lists a directory recursively, depth first, a directory before its contents, siblings sorted by name. Links are
     * listed, never followed.
     *
     * @param path       the directory ({@code ""} for the root)
     * @param maxDepth   1 lists the directory's own entries, 2 also theirs, …
     * @param maxEntries stop after this many entries ({@link FileListing#truncated()} then says so)
     * @throws WorkspaceFileNotFoundException when there is no such directory
     * @throws InvalidConfigException         when {@code path} is not a directory, or a limit is below 1
     */
    default FileListing listFiles(String path, int maxDepth, int maxEntries) {
        throw new OperationNotSupportedException("recursive listing is not supported by this provider");
    }

    /**
     * Describes a path without following a link at its end ({@code lstat}).
     *
     * @return empty when nothing is there
     */
    default Optional<FileStat> stat(String path) {
        throw new OperationNotSupportedException("stat is not supported by this provider");
    }

    /** Whether anything (a file, directory or link, even a dangling one) is at {@code path}. */
    default boolean exists(String path) {
        return stat(path).isPresent();
    }

    /**
     * Deletes a file, link (not its target) or directory.
     *
     * @param recursive whether a directory that is not empty may be deleted with its contents
     * @throws WorkspaceFileNotFoundException when nothing is there
     * @throws InvalidConfigException         for a non-empty directory without {@code recursive}, or the root
     */
    default void delete(String path, boolean recursive) {
        throw new OperationNotSupportedException("delete is not supported by this provider");
    }

    /**
     * Moves or renames a file, link or directory; parent directories of {@code to} are created, a file at {@code to}
     * is replaced.
     *
     * @throws WorkspaceFileNotFoundException when nothing is at {@code from}
     * @throws InvalidConfigException         when {@code to} is an existing directory, lies inside {@code from}, or
     *                                        either is the root
     */
    default void move(String from, String to) {
        throw new OperationNotSupportedException("move is not supported by this provider");
    }

    /**
     * Creates a directory and its missing parents; an existing directory is fine.
     *
     * @throws InvalidConfigException when a file (not a directory) is in the way
     */
    default void mkdirs(String path) {
        throw new OperationNotSupportedException("mkdirs is not supported by this provider");
    }

    /**
     * Replaces an exact piece of text in a UTF-8 file — the edit coding agents make. The text must occur exactly once
     * unless {@code replaceAll}; otherwise nothing changes and a {@link FileEditException} says how often it was
     * found (and at which lines). The default reads and writes the file through {@link #readFile} and
     * {@link #writeFile}: an edit racing another writer of the same file can lose that writer's change.
     *
     * @param oldText    the text to replace, exactly (whitespace and line breaks included); not empty
     * @param newText    what to put instead ({@code ""} deletes it)
     * @param replaceAll replace every occurrence instead of demanding exactly one
     * @return how many occurrences were replaced (1 unless {@code replaceAll})
     * @throws FileEditException              for 0 matches, or several without {@code replaceAll}
     * @throws WorkspaceFileNotFoundException when there is no such file
     * @throws InvalidConfigException         for an empty {@code oldText}, or a file that is not UTF-8
     */
    default int editFile(String path, String oldText, String newText, boolean replaceAll) {
        String text = FileEdits.decode(path, readFile(path));
        String edited = FileEdits.apply(path, text, oldText, newText, replaceAll);
        writeFile(path, edited.getBytes(StandardCharsets.UTF_8));
        return replaceAll ? FileEdits.count(text, oldText) : 1;
    }

    /**
     * What changed since the clean state: per repository the unified diff of the work tree (untracked files
     * included, ignored ones not) against the commit of the clean state, in a form {@code git apply} takes; plus the
     * files changed outside every repository, where the provider can tell.
     *
     * @throws OperationNotSupportedException when the provider cannot diff (the default)
     */
    default WorkspaceDiff diff() {
        throw new OperationNotSupportedException("diff is not supported by this provider");
    }

    /**
     * Starts a command in the background and returns at once with a handle to its output, stdin, exit and kill. Its
     * timeout, if the request has one, kills it; without one it runs until it ends, is killed, or the workspace is
     * closed or reset.
     *
     * @throws OperationNotSupportedException when the provider cannot run background processes (the default)
     */
    default WorkspaceProcess start(ExecRequest request) {
        throw new OperationNotSupportedException("background processes are not supported by this provider");
    }

    /** The background processes started in this workspace and not yet forgotten (running and ended ones). */
    default List<WorkspaceProcess> processes() {
        return List.of();
    }

    /** The background process of that id. */
    default Optional<WorkspaceProcess> process(String processId) {
        return processes().stream().filter(p -> p.id().equals(processId)).findFirst();
    }

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

    /** The most workspaces one {@link #fork(int)} makes. */
    int MAX_FORKS = 64;

    /**
     * Makes {@code count} new workspaces of the same provider with this one's current files — not its processes —
     * each with an id of its own and this one's clean state to {@link #reset()} to: for best-of-n agents and
     * rollouts. This workspace is unchanged (its processes are paused while its files are copied, where the provider
     * can). The new workspaces are the caller's to close, like created ones.
     *
     * @param count how many, 1 to {@link #MAX_FORKS}
     * @return the new workspaces, in order
     * @throws InvalidConfigException          for a count out of range
     * @throws OperationNotSupportedException  when the provider cannot fork (see {@link Capability#FORK})
     */
    default List<Workspace> fork(int count) {
        throw new OperationNotSupportedException("fork is not supported by this provider");
    }

    /** Checks a {@link #fork(int)} count: 1 to {@link #MAX_FORKS}. */
    static int checkForkCount(int count) {
        if (count < 1 || count > MAX_FORKS) {
            throw new InvalidConfigException("fork count must be between 1 and " + MAX_FORKS + ", got " + count);
        }
        return count;
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
