package dev.derrick.local.internal.sandbox;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Where the sandbox's resolv.conf is bound, for the shapes a host's /etc/resolv.conf takes. */
class SandboxControlsTest {
    @TempDir
    Path dir;

    @Test
    void aPlainFileIsCoveredInPlace() throws IOException {
        Path host = Files.writeString(dir.resolve("resolv.conf"), "nameserver 192.0.2.1\n");
        assertThat(SandboxControls.resolvMounts(Path.of("/x/resolv.conf"), host))
                .containsExactly("--ro-bind", "/x/resolv.conf", "/etc/resolv.conf");
    }

    @Test
    void systemdResolvedsLinkIntoRunGetsATmpfsRunAndTheFileAtTheLinksTarget() throws IOException {
        Path host = Files.createSymbolicLink(dir.resolve("resolv.conf"), Path.of("/run/systemd/resolve/stub-resolv.conf"));
        assertThat(SandboxControls.resolvMounts(Path.of("/x/resolv.conf"), host))
                .containsExactly("--tmpfs", "/run", "--ro-bind", "/x/resolv.conf", "/run/systemd/resolve/stub-resolv.conf");
    }

    @Test
    void aLinkToAFileUnderUsrIsCoveredAtItsTarget() throws IOException {
        Path target = Files.list(Path.of("/usr/bin")).filter(p -> Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)).findFirst().orElseThrow();
        Path host = Files.createSymbolicLink(dir.resolve("resolv.conf"), target);
        assertThat(SandboxControls.resolvMounts(Path.of("/x/resolv.conf"), host))
                .containsExactly("--ro-bind", "/x/resolv.conf", target.toString());
    }

    @Test
    void aLinkASandboxCannotShowBindsNothing() throws IOException {
        Path host = Files.createSymbolicLink(dir.resolve("resolv.conf"), Path.of("/var/lib/nowhere/resolv.conf"));
        assertThat(SandboxControls.resolvMounts(Path.of("/x/resolv.conf"), host)).isEmpty();
    }

    @Test
    void cgroupNamesAreOnlyTheOnesSandboxesMake() {
        assertThat(SandboxControls.CGROUP_NAME.matcher("local-0123456789ab-commands-12").matches()).isTrue();
        assertThat(SandboxControls.CGROUP_NAME.matcher("local-0123456789ab-setup-1").matches()).isTrue();
        assertThat(SandboxControls.CGROUP_NAME.matcher("local-0123456789ab").matches()).isFalse();
        assertThat(SandboxControls.CGROUP_NAME.matcher("docker").matches()).isFalse();
        assertThat(SandboxControls.CGROUP_NAME.matcher("local-0123456789ab-commands-1/../x").matches()).isFalse();
    }
}
