package dev.derrick.api;

/**
 * {@link Workspace#editFile} could not make the edit: the text to replace is not in the file, or it is there more
 * than once and the caller did not ask to replace every occurrence. The file is unchanged. Over HTTP and NATS this is
 * {@code edit_failed} (409).
 */
public class FileEditException extends DerrickException {
    private static final long serialVersionUID = 1L;
    private final int matches;

    /**
     * @param message what went wrong and how to fix the request
     * @param matches how often the text occurs in the file (0 or more than 1)
     */
    public FileEditException(String message, int matches) {
        super(message);
        this.matches = matches;
    }

    /** How often the text to replace occurs in the file: 0, or more than 1; -1 when unknown (from the wire). */
    public int matches() {
        return matches;
    }
}
