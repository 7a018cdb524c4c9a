package dev.derrick.api;

/**
 * A workspace config (or a request) is malformed or invalid. The message names the file, the field and, for JSON
 * syntax errors, the line and column.
 */
public class InvalidConfigException extends DerrickException {
    private static final long serialVersionUID = 1L;

    /** @param message what is wrong and where (file, field, line and column) */
    public InvalidConfigException(String message) {
        super(message);
    }

    /**
     * @param message what is wrong and where (file, field, line and column)
     * @param cause   the parser's failure
     */
    public InvalidConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
