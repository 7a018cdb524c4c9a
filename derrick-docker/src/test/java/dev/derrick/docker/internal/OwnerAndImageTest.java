package dev.derrick.docker.internal;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Pure logic: who counts as a dead owner, how image references split, how sizes parse. */
class OwnerAndImageTest {
    final Owner me = Owner.current();

    Map<String, String> labels(Owner owner) {
        return new HashMap<>(owner.labels());
    }

    @Test
    void thisProcessIsAlive() {
        assertThat(me.isDeadOwner(labels(me))).isFalse();
        assertThat(me.pid()).isEqualTo(ProcessHandle.current().pid());
        assertThat(me.host()).isNotBlank();
    }

    @Test
    void aLiveParentProcessIsAlive() {
        ProcessHandle parent = ProcessHandle.current().parent().orElseThrow();
        long start = parent.info().startInstant().map(java.time.Instant::toEpochMilli).orElse(0L);
        Owner other = new Owner(parent.pid(), start, me.host(), me.bootId());
        assertThat(me.isDeadOwner(labels(other))).isFalse();
    }

    @Test
    void aVanishedPidIsDead() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        Owner gone = new Owner(p.pid(), System.currentTimeMillis(), me.host(), me.bootId());
        assertThat(me.isDeadOwner(labels(gone))).isTrue();
    }

    @Test
    void aReusedPidWithAnotherStartTimeIsDead() {
        ProcessHandle parent = ProcessHandle.current().parent().orElseThrow();
        Owner reused = new Owner(parent.pid(), 1_000L, me.host(), me.bootId());
        assertThat(me.isDeadOwner(labels(reused))).isTrue();
        Owner myPidEarlier = new Owner(me.pid(), me.startMillis() - 60_000, me.host(), me.bootId());
        assertThat(me.isDeadOwner(labels(myPidEarlier))).isTrue();
    }

    @Test
    void aSteppedWallClockDoesNotMakeALiveOwnerLookDeadWhenTicksAreKnown() {
        ProcessHandle parent = ProcessHandle.current().parent().orElseThrow();
        long ticks = dev.derrick.core.process.ProcessStart.of(parent.pid());
        assertThat(ticks).isPositive();
        // the wall-clock start recorded 90 s off, as after a VM resumed from a snapshot; the ticks did not move
        Owner parentShifted = new Owner(parent.pid(), 90_000L, ticks, me.host(), me.bootId());
        assertThat(me.isDeadOwner(labels(parentShifted))).isFalse();
        Owner meShifted = new Owner(me.pid(), me.startMillis() - 90_000, me.startTicks(), me.host(), me.bootId());
        assertThat(me.isDeadOwner(labels(meShifted))).isFalse();
        Owner parentReused = new Owner(parent.pid(), 90_000L, ticks + 1, me.host(), me.bootId());
        assertThat(me.isDeadOwner(labels(parentReused))).as("same pid, another start in ticks").isTrue();
    }

    @Test
    void anotherBootIsDeadButAnotherHostOrMissingLabelsAreLeftAlone() {
        assertThat(me.isDeadOwner(labels(new Owner(me.pid(), me.startMillis(), me.host(), "other-boot")))).isTrue();
        assertThat(me.isDeadOwner(labels(new Owner(999_999_999L, 1L, "some-other-host", "x")))).isFalse();
        assertThat(me.isDeadOwner(Map.of("derrick.managed", "true"))).isFalse();
        Map<String, String> garbage = labels(me);
        garbage.put(Owner.LABEL_PID, "not-a-pid");
        assertThat(me.isDeadOwner(garbage)).isFalse();
    }

    @Test
    void imageReferencesSplitIntoRepositoryAndTag() {
        assertThat(DockerProvider.splitImage("debian:bookworm-slim")).containsExactly("debian", "bookworm-slim");
        assertThat(DockerProvider.splitImage("busybox")).containsExactly("busybox", "latest");
        assertThat(DockerProvider.splitImage("localhost:5000/team/img")).containsExactly("localhost:5000/team/img", "latest");
        assertThat(DockerProvider.splitImage("localhost:5000/team/img:2")).containsExactly("localhost:5000/team/img", "2");
        assertThat(DockerProvider.splitImage("img@sha256:abc")).containsExactly("img@sha256:abc", null);
    }

    @Test
    void sizesParse() {
        assertThat(DockerSettings.parseBytes("512m")).isEqualTo(512L << 20);
        assertThat(DockerSettings.parseBytes("2g")).isEqualTo(2L << 30);
        assertThat(DockerSettings.parseBytes("1.5GiB")).isEqualTo(3L << 29);
        assertThat(DockerSettings.parseBytes("4096")).isEqualTo(4096);
    }
}
