package dev.derrick.api;

import java.util.List;

/**
 * A recursive listing ({@link Workspace#listFiles(String, int, int)}): entries in depth-first order, a directory
 * before what it holds, siblings sorted by name.
 *
 * @param entries   what was found, at most the limit asked for; the listed directory itself is not among them
 * @param truncated whether more entries were there than the limit allowed (the listing stopped there)
 */
public record FileListing(List<FileStat> entries, boolean truncated) {
    /** Copies the list. */
    public FileListing {
        entries = List.copyOf(entries);
    }
}
