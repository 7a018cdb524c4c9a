package dev.derrick.api;

/**
 * A path given to a workspace (a file operation's path, a working directory, a repository path) cannot be used: it
 * climbs out of the workspace root ({@code ..}), leads out of it through a symbolic link, holds a NUL character, or is
 * longer than the file system takes. Thrown wherever derrick validates a path, instead of a plain
 * {@link InvalidConfigException}.
 *
 * <p>It is a path error, not a config error; it extends {@link InvalidConfigException} only so that code written
 * before this type existed, which catches {@code InvalidConfigException} for every rejected request, keeps working.
 * Over HTTP and NATS it is a 400 {@code invalid_request} like every invalid request (the wire contract is unchanged),
 * so a remote client raises a plain {@code InvalidConfigException} for it.
 */
public class InvalidPathException extends InvalidConfigException {
    private static final long serialVersionUID = 1L;
    private final String path;

    /**
     * @param path    the path as given, or {@code null} when only the message is known (a client that received the
     *                error over the wire)
     * @param message what is wrong with it, naming it
     */
    public InvalidPathException(String path, String message) {
        super(message);
        this.path = path;
    }

    /** @return the path as given, or {@code null} when not known */
    public String path() {
        return path;
    }
}
