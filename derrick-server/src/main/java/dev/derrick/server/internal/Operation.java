package dev.derrick.server.internal;

import java.util.Locale;
import java.util.Optional;

/**
 * The operations a derrick agent serves, whatever the transport. The wire name is the last path segment of the
 * HTTP route and the verb of the NATS subject.
 */
public enum Operation {
    HEALTH(false),
    LIST(false),
    CREATE(false),
    INFO(true),
    DELETE(true),
    CMD(true),
    CMD_WITH_OUTPUT(true),
    WRITE_FILE(true),
    READ_FILE(true),
    LIST_FILES(true),
    FETCH(true),
    RESET(true),
    CHECKPOINT(true),
    RESTORE(true);

    private final boolean needsWorkspace;

    Operation(boolean needsWorkspace) {
        this.needsWorkspace = needsWorkspace;
    }

    /** Whether the operation addresses one workspace by id. */
    public boolean needsWorkspace() {
        return needsWorkspace;
    }

    /** {@code cmd_with_output}, {@code write_file}, … */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The operation of that wire name. */
    public static Optional<Operation> byWireName(String name) {
        for (Operation op : values()) {
            if (op.wireName().equals(name)) {
                return Optional.of(op);
            }
        }
        return Optional.empty();
    }
}
