package dev.derrick.api;

import java.util.ArrayDeque;
import java.util.Deque;

/** Path rules shared by every provider. */
public final class WorkspacePaths {
    /** Longest file name (one path segment) Linux file systems take, in UTF-8 bytes. */
    public static final int MAX_NAME_BYTES = 255;
    /** Longest path, in UTF-8 bytes ({@code PATH_MAX}). */
    public static final int MAX_PATH_BYTES = 4095;

    private WorkspacePaths() {
    }

    /**
     * Normalizes a path that must stay under the workspace root: strips a leading {@code /}, folds {@code .} and
     * empty segments, and rejects {@code ..} that would climb out. Returns "" for the root itself.
     *
     * @param path what the user gave
     * @param what how to name it in an error message
     * @throws InvalidPathException when the path escapes the root, holds a NUL, or is longer than the file system
     *                                takes (a name over {@value #MAX_NAME_BYTES} or a path over
     *                                {@value #MAX_PATH_BYTES} UTF-8 bytes)
     */
    public static String normalizeRelative(String path, String what) {
        if (path.indexOf('\0') >= 0) {
            throw new InvalidPathException(path, what + " contains a NUL character");
        }
        int bytes = path.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (bytes > MAX_PATH_BYTES) {
            throw new InvalidPathException(path, what + " is " + bytes + " bytes long; the limit is " + MAX_PATH_BYTES);
        }
        Deque<String> parts = new ArrayDeque<>();
        for (String segment : path.replace('\\', '/').split("/")) {
            if (segment.isEmpty() || segment.equals(".")) {
                continue;
            }
            if (segment.equals("..")) {
                if (parts.isEmpty()) {
                    throw new InvalidPathException(path, what + " '" + path + "' climbs out of the workspace root");
                }
                parts.removeLast();
            } else {
                int n = segment.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
                if (n > MAX_NAME_BYTES) {
                    throw new InvalidPathException(path, what + " has a name of " + n + " bytes ('"
                            + segment.substring(0, 16) + "…'); the limit is " + MAX_NAME_BYTES);
                }
                parts.addLast(segment);
            }
        }
        return String.join("/", parts);
    }
}
