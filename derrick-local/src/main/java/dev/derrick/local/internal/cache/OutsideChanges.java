package dev.derrick.local.internal.cache;

import dev.derrick.api.ChangeKind;
import dev.derrick.api.ChangedFile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * The files of a workspace that differ from its clean state, outside the repositories (which {@code git} diffs).
 * The clean state is a stack of layers, top first: in copy mode the clean copy or the snapshot; in overlay mode the
 * clean upper layer (if a create brought the entry up to date) over the snapshot, where a character device 0/0 in a
 * layer is an overlay whiteout (deleted). Only metadata is read (type, size, mtime, permissions, link targets), never
 * followed through links, and only on the provider side of the workspace's own directories.
 */
final class OutsideChanges {
    private final Path current;
    private final List<Path> layers;
    private final Set<String> excluded;
    private final List<ChangedFile> changes = new ArrayList<>();

    private OutsideChanges(Path current, List<Path> layers, Set<String> excluded) {
        this.current = current;
        this.layers = layers;
        this.excluded = excluded;
    }

    /**
     * @param current  the workspace root as commands see it
     * @param layers   the clean state, top layer first
     * @param excluded paths relative to the root not to look into (the repositories)
     */
    static List<ChangedFile> of(Path current, List<Path> layers, Set<String> excluded) {
        OutsideChanges c = new OutsideChanges(current, layers, excluded);
        try {
            c.walk("");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot compare " + current + " with its clean state: " + e.getMessage(), e);
        }
        c.changes.sort(Comparator.comparing(ChangedFile::path));
        return c.changes;
    }

    private void walk(String dir) throws IOException {
        Set<String> names = new TreeSet<>(list(current.resolve(dir.isEmpty() ? "." : dir)));
        names.addAll(cleanNames(dir));
        for (String name : names) {
            String rel = dir.isEmpty() ? name : dir + "/" + name;
            if (excluded.contains(rel)) {
                continue;
            }
            BasicFileAttributes now = attrs(current.resolve(rel));
            Path cleanPath = clean(rel);
            BasicFileAttributes was = cleanPath == null ? null : attrs(cleanPath);
            if (now == null && was == null) {
                continue;
            }
            if (now != null && now.isDirectory() && (was == null || was.isDirectory())) {
                if (was == null && list(current.resolve(rel)).isEmpty()) {
                    changes.add(new ChangedFile(rel, ChangeKind.ADDED, false));
                }
                walk(rel);
            } else if (now == null) {
                changes.add(new ChangedFile(rel, ChangeKind.DELETED, false));
            } else if (was == null) {
                if (now.isDirectory()) {
                    walk(rel);
                } else {
                    changes.add(new ChangedFile(rel, ChangeKind.ADDED, false));
                }
            } else if (!same(current.resolve(rel), now, cleanPath, was)) {
                changes.add(new ChangedFile(rel, ChangeKind.MODIFIED, false));
            }
        }
    }

    /** The clean version of {@code rel}: the topmost layer that has it, or {@code null} (absent or whited out). */
    private Path clean(String rel) throws IOException {
        for (Path layer : layers) {
            Path p = layer.resolve(rel);
            BasicFileAttributes a = attrs(p);
            if (a != null) {
                return whiteout(a) ? null : p;
            }
        }
        return null;
    }

    private Set<String> cleanNames(String dir) throws IOException {
        Set<String> names = new TreeSet<>();
        Set<String> hidden = new TreeSet<>();
        for (Path layer : layers) {
            Path d = layer.resolve(dir.isEmpty() ? "." : dir);
            BasicFileAttributes a = attrs(d);
            if (a == null || !a.isDirectory()) {
                break;
            }
            for (String name : list(d)) {
                if (hidden.contains(name)) {
                    continue;
                }
                BasicFileAttributes e = attrs(d.resolve(name));
                if (e != null && whiteout(e)) {
                    hidden.add(name);
                } else {
                    names.add(name);
                }
            }
        }
        return names;
    }

    private static boolean whiteout(BasicFileAttributes a) {
        return a.isOther() && a.size() == 0;
    }

    private static boolean same(Path a, BasicFileAttributes x, Path b, BasicFileAttributes y) throws IOException {
        if (x.isSymbolicLink() || y.isSymbolicLink()) {
            return x.isSymbolicLink() && y.isSymbolicLink()
                    && Objects.equals(Files.readSymbolicLink(a), Files.readSymbolicLink(b));
        }
        if (x.isDirectory() != y.isDirectory() || x.isRegularFile() != y.isRegularFile() || x.size() != y.size()
                || !x.lastModifiedTime().equals(y.lastModifiedTime())) {
            return false;
        }
        if (x instanceof PosixFileAttributes px && y instanceof PosixFileAttributes py) {
            return px.permissions().equals(py.permissions());
        }
        return true;
    }

    private static BasicFileAttributes attrs(Path p) throws IOException {
        try {
            return Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (java.nio.file.NoSuchFileException | java.nio.file.NotDirectoryException e) {
            return null;
        } catch (UnsupportedOperationException e) {
            return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        }
    }

    private static List<String> list(Path dir) throws IOException {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).toList();
        } catch (java.nio.file.NoSuchFileException e) {
            return List.of();
        }
    }
}
