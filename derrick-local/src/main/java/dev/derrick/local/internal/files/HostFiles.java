package dev.derrick.local.internal.files;

import dev.derrick.api.DerrickException;
import dev.derrick.api.FileEntry;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.WorkspaceFileNotFoundException;
import dev.derrick.api.WorkspacePaths;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * File operations for a workspace without a sandbox (isolation {@code none}), done by the provider on the host:
 * paths are confined to the root, symbolic links included, by checking before opening. That check races with a
 * command swapping a link — which matters little here, since an unsandboxed command can read and write whatever the
 * provider's user can anyway.
 */
public final class HostFiles implements WorkspaceFiles {
    private final String id;
    private final Path root;

    public HostFiles(String id, Path root) {
        this.id = id;
        this.root = root;
    }

    @Override
    public byte[] read(String path) {
        Path file = resolve(path, "path");
        if (Files.isDirectory(file)) {
            throw new InvalidConfigException("'" + path + "' is a directory in workspace " + id + ", not a file");
        }
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new WorkspaceFileNotFoundException(path, "no such file '" + path + "' in workspace " + id);
        } catch (IOException e) {
            throw new DerrickException("cannot read '" + path + "' in workspace " + id + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void write(String path, byte[] content) {
        Path file = resolve(path, "path");
        if (file.equals(root)) {
            throw new InvalidConfigException("cannot write to the workspace root itself; give a file path");
        }
        try {
            Files.createDirectories(file.getParent());
            checkInside(file, path, "path"); // again, now that the parents exist
            if (Files.isDirectory(file)) {
                throw new InvalidConfigException("'" + path + "' is a directory in workspace " + id + ", not a file");
            }
            Files.write(file, content);
        } catch (IOException e) {
            throw new DerrickException("cannot write '" + path + "' in workspace " + id + ": " + e.getMessage(), e);
        }
    }

    @Override
    public List<FileEntry> list(String path) {
        Path dir = resolve(path, "path");
        if (!Files.isDirectory(dir)) {
            if (!Files.exists(dir)) {
                throw new WorkspaceFileNotFoundException(path, "no such directory '" + path + "' in workspace " + id);
            }
            throw new InvalidConfigException("'" + path + "' is a file in workspace " + id + ", not a directory");
        }
        List<FileEntry> entries = new ArrayList<>();
        try (DirectoryStream<Path> children = Files.newDirectoryStream(dir)) {
            for (Path child : children) {
                BasicFileAttributes attrs = Files.readAttributes(child, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                String rel = root.relativize(child).toString().replace('\\', '/');
                entries.add(new FileEntry(child.getFileName().toString(), rel, attrs.isDirectory(),
                        attrs.isDirectory() ? 0 : attrs.size()));
            }
        } catch (IOException e) {
            throw new DerrickException("cannot list '" + path + "' in workspace " + id + ": " + e.getMessage(), e);
        }
        entries.sort(Comparator.comparing(FileEntry::name));
        return entries;
    }

    @Override
    public boolean isDirectory(String path) {
        return Files.isDirectory(resolve(path, "working directory"));
    }

    /**
     * A path under the root: relative to it, or "absolute" meaning inside the workspace. Rejects {@code ..} climbing
     * out and symbolic links leading out.
     */
    public Path resolve(String path, String what) {
        String relative = WorkspacePaths.normalizeRelative(path == null ? "" : path, what);
        Path resolved = relative.isEmpty() ? root : root.resolve(relative);
        checkInside(resolved, path, what);
        return resolved;
    }

    private void checkInside(Path resolved, String given, String what) {
        Path existing = resolved;
        while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            throw new DerrickException("workspace " + id + " has no directory any more");
        }
        Path real;
        try {
            real = existing.toRealPath();
        } catch (IOException e) {
            // a dangling symbolic link: judge where it points
            try {
                Path target = Files.readSymbolicLink(existing);
                real = existing.getParent().toRealPath().resolve(target).normalize();
            } catch (IOException | UnsupportedOperationException e2) {
                throw new DerrickException("cannot resolve " + what + " '" + given + "' in workspace " + id + ": " + e.getMessage(), e);
            }
        }
        if (!real.startsWith(root)) {
            throw new InvalidConfigException(what + " '" + given + "' leads through a symbolic link to " + real
                    + ", outside workspace " + id);
        }
    }
}
