package dev.derrick.api;

/** What a path in a workspace is. Symbolic links are reported as links, never followed. */
public enum FileType {
    /** a regular file */
    FILE,
    /** a directory */
    DIRECTORY,
    /** a symbolic link (its target in {@link FileStat#linkTarget()}) */
    SYMLINK,
    /** a device, fifo or socket */
    OTHER
}
