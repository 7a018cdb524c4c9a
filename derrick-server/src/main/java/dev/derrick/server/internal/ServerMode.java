package dev.derrick.server.internal;

/**
 * How the agent serves its {@link Operations}: {@code http} (the HTTP API) or {@code nats} (request-reply on a
 * NATS server). The CLI picks one by {@link #name()} from {@link ServerModes}.
 */
public interface ServerMode {
    /** {@code http}, {@code nats}. */
    String name();

    /**
     * Checks the settings before anything is opened; the default accepts them.
     *
     * @throws UsageException for settings this mode cannot use
     * @throws Exception      when it could not start anyway (e.g. the port is taken), before a provider is opened
     */
    default void validate(ServerSettings settings) throws Exception {
    }

    /**
     * Starts serving and returns at once; the returned handle stops serving (not the operations).
     *
     * @throws UsageException for settings this mode cannot use (shown to the user as one line)
     * @throws Exception      when it cannot start (port taken, no NATS server…), with a message for a person
     */
    AutoCloseable start(ServerSettings settings, Operations operations) throws Exception;

    /**
     * Starts serving, with a way to end the server from inside: {@code stop} ends it as a signal would (the MCP
     * stdio mode calls it when its client closes stdin). The default ignores {@code stop}.
     */
    default AutoCloseable start(ServerSettings settings, Operations operations, Runnable stop) throws Exception {
        return start(settings, operations);
    }
}
