package dev.derrick.api;

/**
 * One entry of a directory listing.
 *
 * @param name      file name
 * @param path      path relative to the workspace root
 * @param directory whether it is a directory
 * @param size      size in bytes (0 for directories)
 */
public record FileEntry(String name, String path, boolean directory, long size) {
}
