package dev.derrick.api;

/**
 * An optional operation of a {@link Workspace}: {@link Workspace#capabilities()} says which ones a workspace
 * supports, as decided by its provider and the provider's options (a cache that is off, an image without git). An
 * operation whose capability is missing throws {@link OperationNotSupportedException}; one whose capability is there
 * works (it may still fail for other reasons: a missing file, a git server that is down).
 *
 * <p>What every workspace does is no capability: {@code exec}, {@code readFile}, {@code writeFile}, the one-level
 * {@code listFiles}, {@code editFile}, {@code info} and {@code close}.
 */
public enum Capability {
    /** {@link Workspace#listFiles(String, int, int)}: recursive listing with depth and entry limits. */
    LIST_FILES_RECURSIVE,
    /** {@link Workspace#stat} and {@link Workspace#exists}. */
    STAT,
    /** {@link Workspace#delete}. */
    DELETE,
    /** {@link Workspace#move}. */
    MOVE,
    /** {@link Workspace#mkdirs}. */
    MKDIRS,
    /** {@link Workspace#diff()}. */
    DIFF,
    /** {@link Workspace#start}: background processes. */
    BACKGROUND_PROCESSES,
    /** {@link Workspace#fetch()}. */
    FETCH,
    /** {@link Workspace#reset()}. */
    RESET,
    /** {@link Workspace#checkpoint()} and {@link Workspace#restore(String)}. */
    CHECKPOINT,
    /** {@link Workspace#fork(int)}. */
    FORK,
    /** {@link Workspace#detach()}. */
    DETACH;

    /** The file operations beyond read, write and the one-level list. */
    public static final java.util.Set<Capability> FILE_OPERATIONS = java.util.Collections.unmodifiableSet(
            java.util.EnumSet.of(LIST_FILES_RECURSIVE, STAT, DELETE, MOVE, MKDIRS));
}
