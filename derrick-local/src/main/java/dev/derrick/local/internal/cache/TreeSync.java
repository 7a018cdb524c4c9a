package dev.derrick.local.internal.cache;

import dev.derrick.core.cache.FileTrees;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Makes a directory tree equal to another, copying only what differs (rsync's quick check: type, size, modification
 * time, permissions, link target). Used to reset a copied workspace to its snapshot without copying it again.
 */
final class TreeSync {
    private TreeSync() {
    }

    /** Makes {@code target} a copy of {@code source}; returns the number of entries copied or removed. */
    static int sync(Path source, Path target) {
        try {
            Files.createDirectories(target);
            return syncDir(source, target);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot restore " + target + " from " + source + ": " + e.getMessage(), e);
        }
    }

    private static int syncDir(Path source, Path target) throws IOException {
        int changes = 0;
        target.toFile().setWritable(true, true);
        Set<String> names = new HashSet<>();
        for (Path from : list(source)) {
            String name = from.getFileName().toString();
            names.add(name);
            Path to = target.resolve(name);
            BasicFileAttributes a = attrs(from);
            BasicFileAttributes b = Files.exists(to, LinkOption.NOFOLLOW_LINKS) ? attrs(to) : null;
            if (a.isDirectory()) {
                if (b != null && !b.isDirectory()) {
                    FileTrees.delete(to);
                    b = null;
                }
                if (b == null) {
                    Files.createDirectory(to);
                    changes++;
                }
                changes += syncDir(from, to);
                copyMeta(from, to, a);
            } else if (b == null || !same(from, a, to, b)) {
                if (b != null) {
                    FileTrees.delete(to);
                }
                Files.copy(from, to, StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
                changes++;
            }
        }
        for (Path extra : list(target)) {
            if (!names.contains(extra.getFileName().toString())) {
                FileTrees.delete(extra);
                changes++;
            }
        }
        return changes;
    }

    private static boolean same(Path from, BasicFileAttributes a, Path to, BasicFileAttributes b) throws IOException {
        if (a.isSymbolicLink() || b.isSymbolicLink()) {
            return a.isSymbolicLink() && b.isSymbolicLink()
                    && Objects.equals(Files.readSymbolicLink(from), Files.readSymbolicLink(to));
        }
        if (a.isRegularFile() != b.isRegularFile() || a.size() != b.size()
                || !a.lastModifiedTime().equals(b.lastModifiedTime())) {
            return false;
        }
        if (a instanceof PosixFileAttributes pa && b instanceof PosixFileAttributes pb) {
            return pa.permissions().equals(pb.permissions());
        }
        return true;
    }

    private static void copyMeta(Path from, Path to, BasicFileAttributes a) throws IOException {
        if (a instanceof PosixFileAttributes pa) {
            PosixFileAttributes pb = Files.readAttributes(to, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (!pa.permissions().equals(pb.permissions())) {
                Files.setPosixFilePermissions(to, pa.permissions());
            }
            if (!pa.owner().equals(pb.owner())) {
                try {
                    Files.setOwner(to, pa.owner()); // a sandboxed workspace's directories belong to the sandbox user
                } catch (IOException e) {
                    // not root: everything is this user's anyway
                }
            }
            if (!pa.group().equals(pb.group())) {
                try {
                    Files.getFileAttributeView(to, java.nio.file.attribute.PosixFileAttributeView.class,
                            LinkOption.NOFOLLOW_LINKS).setGroup(pa.group());
                } catch (IOException e) {
                    // as above
                }
            }
        }
    }

    private static BasicFileAttributes attrs(Path p) throws IOException {
        try {
            return Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (UnsupportedOperationException e) {
            return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        }
    }

    private static List<Path> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }
}
