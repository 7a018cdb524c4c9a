package dev.derrick.api;

/** Which stream a chunk of command output came from. */
public enum StreamKind {
    /** Standard output. */
    STDOUT,
    /** Standard error. */
    STDERR
}
