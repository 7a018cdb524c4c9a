package dev.derrick.api;

/** How a file differs from the clean state in a {@link WorkspaceDiff}. */
public enum ChangeKind {
    /** not in the clean state (an untracked or new file) */
    ADDED,
    /** in both, with other content, mode or type */
    MODIFIED,
    /** in the clean state, gone now */
    DELETED
}
