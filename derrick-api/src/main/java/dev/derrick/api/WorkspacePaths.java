package dev.derrick.api;

import java.util.ArrayDeque;
import java.util.Deque;

/** Path rules shared by every provider. */
public final class WorkspacePaths {
    private WorkspacePaths() {
    }

    /**
     * Normalizes a path that must stay under the workspace root: strips a leading {@code /}, folds {@code .} and
     * empty segments, and rejects {@code ..} that would climb out. Returns "" for the root itself.
     *
     * @param path what the user gave
     * @param what how to name it in an error message
     * @throws InvalidConfigException when the path escapes the root or holds a NUL
     */
    public static String normalizeRelative(String path, String what) {
        if (path.indexOf('\0') >= 0) {
            throw new InvalidConfigException(what + " contains a NUL character");
        }
        Deque<String> parts = new ArrayDeque<>();
        for (String segment : path.replace('\\', '/').split("/")) {
            if (segment.isEmpty() || segment.equals(".")) {
                continue;
            }
            if (segment.equals("..")) {
                if (parts.isEmpty()) {
                    throw new InvalidConfigException(what + " '" + path + "' climbs out of the workspace root");
                }
                parts.removeLast();
            } else {
                parts.addLast(segment);
            }
        }
        return String.join("/", parts);
    }
}
