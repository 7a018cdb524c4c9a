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
    RESTORE(true),
    STAT(true),
    LIST_RECURSIVE(true),
    DELETE_FILE(true),
    MOVE_FILE(true),
    MKDIR(true),
    EDIT_FILE(true),
    DIFF(true),
    PROCESSES(true),
    PROCESS_INFO(true, true),
    PROCESS_OUTPUT(true, true),
    PROCESS_STDIN(true, true),
    PROCESS_WAIT(true, true),
    PROCESS_KILL(true, true);

    private final boolean needsWorkspace;
    private final boolean needsProcess;

    Operation(boolean needsWorkspace) {
        this(needsWorkspace, false);
    }

    Operation(boolean needsWorkspace, boolean needsProcess) {
        this.needsWorkspace = needsWorkspace;
        this.needsProcess = needsProcess;
    }

    /** Whether the operation addresses one background process of the workspace by id. */
    public boolean needsProcess() {
        return needsProcess;
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
