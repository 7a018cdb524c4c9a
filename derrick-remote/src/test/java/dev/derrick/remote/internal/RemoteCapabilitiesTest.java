package dev.derrick.remote.internal;

import dev.derrick.api.Capability;
import dev.derrick.api.WorkspaceInfo;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RemoteCapabilitiesTest {
    static WorkspaceInfo agent(String backend, String cacheEntry) {
        return new WorkspaceInfo("w-1", backend, "cfg", "/r", Instant.EPOCH, List.of(), cacheEntry);
    }

    @Test
    void inferredFromTheAgentsBackendAndCacheEntryNeverDetach() {
        assertThat(RemoteWorkspace.infer(agent("local", "entry-1"))).containsExactlyInAnyOrder(
                Capability.LIST_FILES_RECURSIVE, Capability.STAT, Capability.DELETE, Capability.MOVE, Capability.MKDIRS,
                Capability.DIFF, Capability.BACKGROUND_PROCESSES, Capability.FETCH, Capability.RESET, Capability.CHECKPOINT,
                Capability.FORK);
        assertThat(RemoteWorkspace.infer(agent("local", null))).doesNotContain(Capability.FETCH, Capability.RESET,
                Capability.CHECKPOINT, Capability.FORK, Capability.DETACH).contains(Capability.DIFF);
        assertThat(RemoteWorkspace.infer(agent("docker", null))).contains(Capability.CHECKPOINT)
                .doesNotContain(Capability.RESET, Capability.FORK, Capability.DETACH);
        assertThat(RemoteWorkspace.infer(agent("docker", "entry-2"))).contains(Capability.RESET, Capability.FORK);
        assertThat(RemoteWorkspace.infer(agent("someone-elses", "entry-3")))
                .containsExactlyInAnyOrderElementsOf(Capability.FILE_OPERATIONS);
        assertThatThrownBy(() -> RemoteWorkspace.infer(agent("local", null)).add(Capability.DETACH))
                .isInstanceOf(UnsupportedOperationException.class);
    }
}
