package dev.derrick.api;

import java.time.Instant;
import java.util.Objects;

/**
 * What {@link Workspace#stat(String)} and {@link Workspace#listFiles(String, int, int)} say about one path. A
 * symbolic link is described itself ({@code lstat}), never the file it points to.
 *
 * @param path       the path relative to the workspace root ({@code ""} for the root); for a path outside the
 *                   root directory that the workspace still owns (an absolute path in {@code docker}), the absolute
 *                   path
 * @param type       file, directory, link or other
 * @param size       size in bytes (0 for directories; for a link, the length of its target)
 * @param mode       permission bits, e.g. {@code 0644} ({@code 0755} for an executable)
 * @param modified   last modification time
 * @param linkTarget where a link points, as written in the link; {@code null} for anything else
 */
public record FileStat(String path, FileType type, long size, int mode, Instant modified, String linkTarget) {
    /** Validates the required parts. */
    public FileStat {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(type, "type");
        modified = modified == null ? Instant.EPOCH : modified;
    }

    /** The last path segment ({@code ""} for the root). */
    public String name() {
        int slash = path.lastIndexOf('/');
        return slash < 0 ? path : path.substring(slash + 1);
    }

    /** Whether it is a directory. */
    public boolean isDirectory() {
        return type == FileType.DIRECTORY;
    }

    /** Whether it is a regular file. */
    public boolean isFile() {
        return type == FileType.FILE;
    }

    /** The octal mode as {@code ls} shows it, e.g. {@code "0644"}. */
    public String octalMode() {
        return String.format("%04o", mode & 07777);
    }
}
