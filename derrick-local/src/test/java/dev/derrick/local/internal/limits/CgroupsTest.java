package dev.derrick.local.internal.limits;

import dev.derrick.core.limits.ResourceLimits;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Pure logic: reading mountinfo, choosing how each limit is enforced, refusing ids that are not plain names. */
class CgroupsTest {
    static final String HYBRID = """
            30 22 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
            31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw
            33 30 0:29 / /sys/fs/cgroup/memory rw,nosuid shared:14 - cgroup cgroup rw,memory
            34 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:15 - cgroup cgroup rw,cpu,cpuacct
            35 30 0:31 / /sys/fs/cgroup/pids rw,nosuid shared:16 - cgroup cgroup rw,pids
            36 30 0:32 /docker/abc /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer
            """;

    @Test
    void hybridMachinesUseTheV1HierarchyOfEachController() {
        Map<String, Cgroups.Controller> c = Cgroups.candidates(HYBRID);
        assertThat(c.get("memory")).isEqualTo(new Cgroups.Controller("memory", Path.of("/sys/fs/cgroup/memory"), false));
        assertThat(c.get("cpu").hierarchy()).isEqualTo(Path.of("/sys/fs/cgroup/cpu,cpuacct"));
        assertThat(c.get("pids").v2()).isFalse();
    }

    @Test
    void aBindMountedSubtreeIsNotAHierarchyRoot() {
        assertThat(Cgroups.candidates("36 30 0:32 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"))
                .isEmpty();
    }

    @Test
    void withoutUsableControllersMemoryAndPidsFallBackToPrlimitAndCpusIsSaidToBeUnenforced() {
        Cgroups none = new Cgroups(Map.of(), Map.of("memory", "no memory cgroup", "pids", "no pids cgroup",
                "cpu", "no cpu cgroup"));
        ResourceControl control = ResourceControl.of(new ResourceLimits(64L << 20, 1.5, 100), none, true);
        assertThat(control.means()).containsEntry("memory", ResourceControl.Means.PRLIMIT)
                .containsEntry("pids", ResourceControl.Means.PRLIMIT).containsEntry("cpus", ResourceControl.Means.NONE);
        assertThat(control.enforcement().get("memory")).startsWith("only per process").contains("no memory cgroup");
        assertThat(control.enforcement().get("pids")).startsWith("only per uid");
        assertThat(control.enforcement().get("cpus")).startsWith("NOT enforced: no cpu cgroup");
        ResourceControl bare = ResourceControl.of(new ResourceLimits(64L << 20, 0, 0), none, false);
        assertThat(bare.enforcement()).containsOnlyKeys("memory");
        assertThat(bare.enforcement().get("memory")).startsWith("NOT enforced");
        assertThat(ResourceControl.of(ResourceLimits.NONE, none, true).enforcement()).isEmpty();
    }

    @Test
    void idsArePlainNames() {
        Cgroups none = new Cgroups(Map.of(), Map.of());
        for (String bad : new String[]{"../x", "a/b", "", ".hidden", "x y"}) {
            assertThatThrownBy(() -> none.destroy(bad)).isInstanceOf(IllegalArgumentException.class);
        }
        none.destroy("local-0123abcd");
    }
}
