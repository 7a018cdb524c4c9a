package dev.derrick.core.cache;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class FileTreesTest {
    @TempDir
    Path tmp;

    @Test
    @EnabledOnOs(OS.LINUX)
    void copyLinkingGitObjectsSharesObjectFilesAndCopiesEverythingElse() throws Exception {
        Path source = tmp.resolve("snapshot");
        Path pack = write(source.resolve("code/app/.git/objects/pack/pack-1.pack"), "pack bytes");
        Path loose = write(source.resolve("code/app/.git/objects/ab/cdef"), "loose object");
        Path index = write(source.resolve("code/app/.git/index"), "index");
        Path tracked = write(source.resolve("code/app/src/Main.java"), "class Main {}");
        Path outside = write(source.resolve("setup-done.txt"), "done");
        Path sibling = write(source.resolve("code/other.txt"), "other");
        Files.setPosixFilePermissions(source.resolve("code"), PosixFilePermissions.fromString("rwxr-x---"));
        Files.createSymbolicLink(source.resolve("code/app/link"), Path.of("src/Main.java"));

        Path target = tmp.resolve("workspace");
        FileTrees.copyLinkingGitObjects(source, target, List.of("code/app", "missing/repo"));

        for (Path p : List.of(pack, loose, index, tracked, outside, sibling)) {
            Path copy = target.resolve(source.relativize(p).toString());
            assertThat(copy).hasSameTextualContentAs(p);
        }
        assertThat(Files.isSameFile(pack, target.resolve("code/app/.git/objects/pack/pack-1.pack"))).isTrue();
        assertThat(Files.isSameFile(loose, target.resolve("code/app/.git/objects/ab/cdef"))).isTrue();
        assertThat(Files.isSameFile(index, target.resolve("code/app/.git/index"))).isFalse();
        assertThat(Files.isSameFile(tracked, target.resolve("code/app/src/Main.java"))).isFalse();
        assertThat(Files.isSameFile(outside, target.resolve("setup-done.txt"))).isFalse();
        assertThat(Files.isSymbolicLink(target.resolve("code/app/link"))).isTrue();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(target.resolve("code"))))
                .isEqualTo("rwxr-x---");
        assertThat(Files.getLastModifiedTime(target.resolve("code/app/src")))
                .isEqualTo(Files.getLastModifiedTime(source.resolve("code/app/src")));

        // Writing the copy's work tree leaves the source alone.
        Files.writeString(target.resolve("code/app/src/Main.java"), "changed");
        assertThat(tracked).hasContent("class Main {}");
    }

    @Test
    @EnabledOnOs(OS.LINUX)
    void copyLinkingGitObjectsAcrossFileSystemsCopiesTheObjectsInstead() throws Exception {
        Path shm = Path.of("/dev/shm");
        assertThat(Files.getFileStore(shm)).as("/dev/shm must be another file system than " + tmp)
                .isNotEqualTo(Files.getFileStore(tmp));
        Path source = tmp.resolve("snapshot");
        Path pack = write(source.resolve("code/app/.git/objects/pack/pack-1.pack"), "pack bytes");
        write(source.resolve("code/app/README.md"), "hello");
        Path target = Files.createTempDirectory(shm, "derrick-filetrees-test");
        try {
            FileTrees.copyLinkingGitObjects(source, target, List.of("code/app"));
            Path copied = target.resolve("code/app/.git/objects/pack/pack-1.pack");
            assertThat(copied).hasContent("pack bytes");
            assertThat(Files.isSameFile(pack, copied)).isFalse();
            assertThat(target.resolve("code/app/README.md")).hasContent("hello");
        } finally {
            FileTrees.delete(target);
        }
    }

    @Test
    void copyLinkingGitObjectsWithoutRepositoriesIsAPlainCopy() throws Exception {
        Path source = tmp.resolve("snapshot");
        Path file = write(source.resolve("a/b.txt"), "b");
        Path target = tmp.resolve("workspace");
        FileTrees.copyLinkingGitObjects(source, target, List.of());
        assertThat(target.resolve("a/b.txt")).hasContent("b");
        assertThat(Files.isSameFile(file, target.resolve("a/b.txt"))).isFalse();
    }

    private static Path write(Path p, String content) throws Exception {
        Files.createDirectories(p.getParent());
        return Files.writeString(p, content);
    }
}
