package dev.derrick.local.internal.files;

import dev.derrick.api.FileEntry;

import java.util.List;

/**
 * The file operations of a local workspace. Paths are as the API takes them: relative to the workspace root, or
 * absolute (for a sandboxed workspace, absolute paths are sandbox paths — the root is {@code /} — so they mean what
 * they mean to commands). Two implementations: {@link SandboxFiles} (inside the sandbox, as the sandbox user:
 * race-free by construction) and {@link HostFiles} (isolation {@code none}: host-side, confined to the root).
 */
public interface WorkspaceFiles {
    /** The whole content of a file. */
    byte[] read(String path);

    /** Creates or replaces a file, making missing parent directories. */
    void write(String path, byte[] content);

    /** The entries of a directory, sorted by name. */
    List<FileEntry> list(String path);

    /** Whether {@code path} is an existing directory (for a command's working directory). */
    boolean isDirectory(String path);
}
