package dev.derrick.local.internal;

import dev.derrick.core.process.ProcessStart;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Owner records planted by hand, against real processes: who is reaped and who is left alone. */
class ReaperTest {
    @TempDir
    Path root;
    final List<Process> started = new ArrayList<>();

    @AfterEach
    void stop() {
        started.forEach(Process::destroyForcibly);
    }

    Path workspace(String id, String record) throws Exception {
        Path owners = Files.createDirectories(root.resolve(Reaper.OWNERS));
        Files.writeString(owners.resolve(id), record);
        Path dir = Files.createDirectories(root.resolve(id));
        Files.writeString(dir.resolve("evidence.txt"), id);
        return dir;
    }

    Process sleeper(Path cwd) throws Exception {
        Process p = new ProcessBuilder("sleep", "60").directory(cwd.toFile()).start();
        started.add(p);
        return p;
    }

    @Test
    void thisJvmsWorkspacesAreNeverReapedWhateverItsRecordedStart() throws Exception {
        long me = ProcessHandle.current().pid();
        Path shifted = workspace("local-00000000000a", me + " " + (ProcessStart.self() + 12345) + " ticks");
        Path legacy = workspace("local-00000000000b", me + " " + (System.currentTimeMillis() - 90_000));
        assertThat(new Reaper(root).reapOrphans()).isEmpty();
        assertThat(shifted).isDirectory();
        assertThat(legacy).isDirectory();
    }

    @Test
    void aLiveOwnerIsLeftAloneAndAReusedPidIsReapedWithTheProcessesInItsDirectory() throws Exception {
        Process owner = sleeper(root);
        long ticks = ProcessStart.of(owner.pid());
        assertThat(ticks).isPositive();
        Path alive = workspace("local-0000000000a1", owner.pid() + " " + ticks + " ticks");
        Path legacyAlive = workspace("local-0000000000a2", owner.pid() + " 1000");
        Path reused = workspace("local-0000000000a3", owner.pid() + " " + (ticks - 1) + " ticks");
        Process inReused = sleeper(reused);

        List<String> reaped = new Reaper(root).reapOrphans();

        assertThat(reaped).containsExactly("local-0000000000a3");
        assertThat(alive.resolve("evidence.txt")).exists();
        assertThat(legacyAlive.resolve("evidence.txt")).as("an older record's start tells nothing; the pid lives").exists();
        assertThat(reused).doesNotExist();
        assertThat(root.resolve(Reaper.OWNERS).resolve("local-0000000000a3")).doesNotExist();
        assertThat(inReused.waitFor(5, TimeUnit.SECONDS)).as("a process working in the reaped directory is killed").isTrue();
        assertThat(owner.isAlive()).as("the live owner itself is not touched").isTrue();
    }

    @Test
    void aGoneOwnersWorkspaceIsReapedAndStrangeRecordsAreIgnored() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        Path orphan = workspace("local-0000000000c1", gone.pid() + " 5 ticks");
        Path strangeName = workspace("local-NOT-AN-ID", gone.pid() + " 5 ticks");
        Path garbage = workspace("local-0000000000c2", "not a record");
        Path target = Files.createDirectories(root.resolve("elsewhere"));
        Files.writeString(target.resolve("keep.txt"), "keep");
        Files.createSymbolicLink(root.resolve(Reaper.OWNERS).resolve("local-0000000000c3"), target.resolve("keep.txt"));

        assertThat(new Reaper(root).reapOrphans()).containsExactly("local-0000000000c1");

        assertThat(orphan).doesNotExist();
        assertThat(strangeName).isDirectory();
        assertThat(garbage).as("an unreadable record leaves its workspace alone").isDirectory();
        assertThat(target.resolve("keep.txt")).hasContent("keep");
    }
}
