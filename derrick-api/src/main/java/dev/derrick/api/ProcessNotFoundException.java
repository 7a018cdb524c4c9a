package dev.derrick.api;

/** No background process of that id in the workspace (never started there, or forgotten). HTTP 404 {@code process_not_found}. */
public class ProcessNotFoundException extends DerrickException {
    private static final long serialVersionUID = 1L;

    /** @param message which process, in which workspace */
    public ProcessNotFoundException(String message) {
        super(message);
    }
}
