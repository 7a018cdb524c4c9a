package dev.derrick.docker.internal;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;

/** Builds the tar streams the archive API takes. Entries carry uid/gid 0, like {@code docker cp}. */
final class Tars {
    private Tars() {
    }

    /** A tar with one regular file at {@code name} (relative, no leading slash); missing parents are made by the engine. */
    static byte[] singleFile(String name, byte[] content, int mode) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(content.length + 2048);
        try (TarArchiveOutputStream tar = open(bytes)) {
            TarArchiveEntry entry = new TarArchiveEntry(name);
            entry.setSize(content.length);
            entry.setMode(mode);
            entry.setModTime(System.currentTimeMillis());
            tar.putArchiveEntry(entry);
            tar.write(content);
            tar.closeArchiveEntry();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** A tar with the directory {@code dir} (mode 0755) holding the given files (mode 0644). */
    static byte[] files(String dir, java.util.Map<String, byte[]> files) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(2048);
        try (TarArchiveOutputStream tar = open(bytes)) {
            TarArchiveEntry d = new TarArchiveEntry(dir + "/");
            d.setMode(040755);
            d.setModTime(System.currentTimeMillis());
            tar.putArchiveEntry(d);
            tar.closeArchiveEntry();
            for (java.util.Map.Entry<String, byte[]> f : files.entrySet()) {
                TarArchiveEntry entry = new TarArchiveEntry(dir + "/" + f.getKey());
                entry.setSize(f.getValue().length);
                entry.setMode(0644);
                entry.setModTime(System.currentTimeMillis());
                tar.putArchiveEntry(entry);
                tar.write(f.getValue());
                tar.closeArchiveEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** A tar with one directory entry (mode 0755) at {@code name}; missing parents are made by the engine. */
    static byte[] directory(String name) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(2048);
        try (TarArchiveOutputStream tar = open(bytes)) {
            TarArchiveEntry entry = new TarArchiveEntry(name + "/");
            entry.setMode(040755);
            entry.setModTime(System.currentTimeMillis());
            tar.putArchiveEntry(entry);
            tar.closeArchiveEntry();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /**
     * Writes the tree at {@code dir} into {@code out} with entry names under {@code prefix} (relative, no leading
     * slash), keeping file modes and symbolic links.
     */
    static void writeTree(Path dir, String prefix, OutputStream out) throws IOException {
        try (TarArchiveOutputStream tar = open(out)) {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) throws IOException {
                    TarArchiveEntry entry = new TarArchiveEntry(name(d) + "/");
                    entry.setMode(040000 | mode(d, 0755));
                    entry.setModTime(attrs.lastModifiedTime().toMillis());
                    tar.putArchiveEntry(entry);
                    tar.closeArchiveEntry();
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
                    if (attrs.isSymbolicLink()) {
                        TarArchiveEntry entry = new TarArchiveEntry(name(f), TarConstants.LF_SYMLINK);
                        entry.setLinkName(Files.readSymbolicLink(f).toString());
                        tar.putArchiveEntry(entry);
                        tar.closeArchiveEntry();
                    } else if (attrs.isRegularFile()) {
                        TarArchiveEntry entry = new TarArchiveEntry(name(f));
                        entry.setSize(attrs.size());
                        entry.setMode(0100000 | mode(f, 0644));
                        entry.setModTime(attrs.lastModifiedTime().toMillis());
                        tar.putArchiveEntry(entry);
                        try (InputStream in = Files.newInputStream(f)) {
                            in.transferTo(tar);
                        }
                        tar.closeArchiveEntry();
                    }
                    return FileVisitResult.CONTINUE;
                }

                private String name(Path p) {
                    String rel = dir.relativize(p).toString().replace('\\', '/');
                    return rel.isEmpty() ? prefix : prefix + "/" + rel;
                }
            });
            tar.finish();
        }
    }

    private static TarArchiveOutputStream open(OutputStream out) {
        TarArchiveOutputStream tar = new TarArchiveOutputStream(out);
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        return tar;
    }

    private static int mode(Path p, int fallback) {
        try {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS);
            int mode = 0;
            for (PosixFilePermission perm : perms) {
                mode |= switch (perm) {
                    case OWNER_READ -> 0400;
                    case OWNER_WRITE -> 0200;
                    case OWNER_EXECUTE -> 0100;
                    case GROUP_READ -> 040;
                    case GROUP_WRITE -> 020;
                    case GROUP_EXECUTE -> 010;
                    case OTHERS_READ -> 04;
                    case OTHERS_WRITE -> 02;
                    case OTHERS_EXECUTE -> 01;
                };
            }
            return mode;
        } catch (IOException | UnsupportedOperationException e) {
            return fallback;
        }
    }
}
