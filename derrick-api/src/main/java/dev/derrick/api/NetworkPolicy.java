package dev.derrick.api;

import java.util.Locale;

/**
 * Whether a workspace has a network, per phase: the {@code network} field of a workspace config, {@code "on"} (the
 * default), {@code "off"}, or {@code {"setup": "on", "commands": "off"}}.
 *
 * <p>The <em>setup</em> phase is the setup script: it runs when a clean state is built (at cache-build time). The
 * <em>commands</em> phase is everything that runs in the workspace itself: every command of the agent, and the update
 * script after a create from a cache entry had to fetch new commits (it runs in the new workspace). "Off" means a network namespace with only the loopback interface; "on" is the provider's network (for
 * the local sandbox a user-mode stack that cannot reach the host's own loopback unless the operator allows it; for
 * docker the {@code network_mode} option). Cloning is not part of either phase: JGit runs in the provider.
 *
 * @param setup    network during the setup phase
 * @param commands network during the commands phase
 */
public record NetworkPolicy(boolean setup, boolean commands) {
    /** Network in every phase (the default). */
    public static final NetworkPolicy ON = new NetworkPolicy(true, true);
    /** No network in any phase: only loopback. */
    public static final NetworkPolicy OFF = new NetworkPolicy(false, false);

    /** A phase of a workspace's life. */
    public enum Phase {
        /** the setup script, while the clean state is built */
        SETUP,
        /** the workspace's own processes: the agent's commands and the update script */
        COMMANDS;

        /** {@code setup} or {@code commands}, as in the config. */
        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Whether the phase has network. */
    public boolean allows(Phase phase) {
        return phase == Phase.SETUP ? setup : commands;
    }

    /** The same in both phases. */
    public boolean uniform() {
        return setup == commands;
    }

    /**
     * Parses {@code "on"} or {@code "off"} (any case, surrounding blanks ignored).
     *
     * @param field names the value in the error, e.g. {@code network.setup}
     * @throws InvalidConfigException naming {@code field} for any other value
     */
    public static boolean parseSwitch(String value, String field) {
        String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
        return switch (v) {
            case "on" -> true;
            case "off" -> false;
            default -> throw new InvalidConfigException("field '" + field + "' must be \"on\" or \"off\", got "
                    + (value == null ? "null" : "\"" + value + "\""));
        };
    }

    /** {@code "on"} or {@code "off"} for one phase. */
    public static String switchName(boolean on) {
        return on ? "on" : "off";
    }

    /** {@code on}, {@code off}, or {@code setup=on,commands=off}: for logs and workspace details. */
    @Override
    public String toString() {
        return uniform() ? switchName(setup) : "setup=" + switchName(setup) + ",commands=" + switchName(commands);
    }
}
