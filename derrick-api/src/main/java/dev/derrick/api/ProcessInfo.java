package dev.derrick.api;

import java.time.Duration;
import java.time.Instant;

/**
 * A background process's state ({@link WorkspaceProcess#info()}).
 *
 * @param id       the handle's id, unique within its workspace
 * @param command  the command it runs
 * @param started  when it started
 * @param running  whether it still runs
 * @param exitCode its exit code once ended, else {@code null}; a process killed by {@link WorkspaceProcess#kill()}
 *                 reports what the signal left (often 137 or 143) or -1
 * @param elapsed  how long it has run (until it ended)
 * @param killed   whether it ended because it was killed (by {@code kill()}, its timeout, or its workspace closing)
 */
public record ProcessInfo(String id, String command, Instant started, boolean running, Integer exitCode,
                          Duration elapsed, boolean killed) {
}
