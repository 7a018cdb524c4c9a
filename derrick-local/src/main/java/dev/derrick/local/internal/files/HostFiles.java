package dev.derrick.local.internal.files;

import dev.derrick.api.DerrickException;
import dev.derrick.api.FileEntry;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.WorkspaceFileNotFoundException;
import dev.derrick.api.WorkspacePaths;

import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * File operations for a workspace without a sandbox (isolation {@code none}), done by the provider on the host:
 * paths are confined to the root, symbolic links included. A path is first resolved to its real, link-free form
 * under the root (which gives the clear error for a link leading out); the file is then opened by walking exactly
 * that path from the root with directory descriptors and {@code O_NOFOLLOW} on every component
 * ({@link SecureDirectoryStream}, {@code openat}). A link swapped in between the check and the open makes the open
 * fail; it cannot redirect it. Left: making missing parent directories for a write follows links (the JDK has no
 * {@code mkdirat}), so a racing command can make the provider create an empty directory outside — nothing more,
 * and nothing an unsandboxed command could not do itself.
 */
public final class HostFiles implements WorkspaceFiles {
    private final String id;
    private final Path root;
    /** The root's real path, resolved once (the provider made the directory; it does not move while the workspace lives). */
    private volatile Path realRoot;

    public HostFiles(String id, Path root) {
        this.id = id;
        this.root = root;
    }

    /** The real directory {@code realDir} (under the real root), opened component by component without following links. */
    private SecureDirectoryStream<Path> openDirectory(Path realDir) throws IOException {
        Path realRoot = realRoot();
        if (!realDir.startsWith(realRoot)) {
            throw new dev.derrick.api.InvalidPathException(realDir.toString(), "'" + realDir + "' is outside workspace " + id);
        }
        DirectoryStream<Path> top = Files.newDirectoryStream(realRoot);
        if (!(top instanceof SecureDirectoryStream<Path> dir)) {
            top.close();
            throw new DerrickException("this platform has no race-free directory access (openat); use isolation=sandbox");
        }
        try {
            for (Path part : realRoot.relativize(realDir)) {
                if (part.toString().isEmpty()) {
                    continue;
                }
                SecureDirectoryStream<Path> next = dir.newDirectoryStream(part, LinkOption.NOFOLLOW_LINKS);
                dir.close();
                dir = next;
            }
            return dir;
        } catch (IOException e) {
            dir.close();
            throw new InvalidConfigException("'" + root.relativize(realDir) + "' changed while it was opened in workspace "
                    + id + " (a symbolic link was swapped in?): " + e.getMessage());
        }
    }

    private Path realRoot() throws IOException {
        Path r = realRoot;
        if (r == null) {
            r = root.toRealPath();
            realRoot = r;
        }
        return r;
    }

    private static BasicFileAttributes attributes(SecureDirectoryStream<Path> dir, Path name) throws IOException {
        return dir.getFileAttributeView(name, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).readAttributes();
    }

    @Override
    public byte[] read(String path) {
        Path file = resolve(path, "path");
        if (Files.isDirectory(file)) {
            throw new InvalidConfigException("'" + path + "' is a directory in workspace " + id + ", not a file");
        }
        try {
            Path real = file.toRealPath();
            try (SecureDirectoryStream<Path> dir = openDirectory(real.getParent())) {
                BasicFileAttributes attrs = attributes(dir, real.getFileName());
                if (attrs.isDirectory()) {
                    throw new InvalidConfigException("'" + path + "' is a directory in workspace " + id + ", not a file");
                }
                if (!attrs.isRegularFile()) {
                    throw new InvalidConfigException("'" + path + "' is not a regular file in workspace " + id);
                }
                try (SeekableByteChannel in = dir.newByteChannel(real.getFileName(),
                        Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS))) {
                    return Channels.newInputStream(in).readAllBytes();
                }
            }
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
            Path target = Files.isSymbolicLink(file) ? file.toRealPath() : file.getParent().toRealPath().resolve(file.getFileName());
            try (SecureDirectoryStream<Path> dir = openDirectory(target.getParent());
                 SeekableByteChannel out = dir.newByteChannel(target.getFileName(), Set.of(StandardOpenOption.WRITE,
                         StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, LinkOption.NOFOLLOW_LINKS))) {
                java.nio.ByteBuffer buffer = java.nio.ByteBuffer.wrap(content);
                while (buffer.hasRemaining()) {
                    out.write(buffer);
                }
            }
        } catch (NoSuchFileException e) {
            throw new WorkspaceFileNotFoundException(path, "'" + path + "' changed while it was written in workspace " + id);
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
        String prefix = root.relativize(dir).toString().replace('\\', '/');
        try (SecureDirectoryStream<Path> children = openDirectory(dir.toRealPath())) {
            for (Path child : children) {
                Path name = child.getFileName();
                BasicFileAttributes attrs;
                try {
                    attrs = attributes(children, name);
                } catch (NoSuchFileException gone) {
                    continue; // removed while listed
                }
                String rel = prefix.isEmpty() ? name.toString() : prefix + "/" + name;
                entries.add(new FileEntry(name.toString(), rel, attrs.isDirectory(), attrs.isDirectory() ? 0 : attrs.size()));
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
            throw new dev.derrick.api.InvalidPathException(given, what + " '" + given + "' leads through a symbolic link to " + real
                    + ", outside workspace " + id);
        }
    }
}
