package dev.derrick.docker;

import dev.derrick.api.WorkspaceConfig;
import dev.derrick.docker.internal.DockerEngine;
import dev.derrick.tck.WorkspaceProviderContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The shared behavioural suite against the real Docker engine, on the busybox test image (no bash, no git: the
 * clone happens on the provider side). The workspace root is {@code /workspace} so that the suite's recursive file
 * scans stay inside the workspace instead of walking {@code /proc}.
 */
class DockerProviderIT extends WorkspaceProviderContract {
    private DockerEngine raw;

    @BeforeAll
    void requireEngine() {
        DockerTestSupport.requireEngine();
        raw = DockerTestSupport.rawEngine();
    }

    @AfterAll
    void closeRaw() {
        if (raw != null) {
            raw.close();
        }
    }

    @Override
    protected String providerName() {
        return "docker";
    }

    @Override
    protected Map<String, Object> providerOptions(Map<String, String> environment) {
        return Map.of("environment", environment, "root", "/workspace", "max_output_bytes", outputLimitBytes());
    }

    /**
     * The TCK runs on the busybox image, which has no git: fetch there must say so (OperationNotSupportedException).
     * Fetch in a docker workspace is tested with the Debian image in DockerCacheIT.
     */
    @Override
    protected boolean supportsFetch() {
        return false;
    }

    /** A container per workspace keeps every isolation promise of the TCK. */
    @Override
    protected Set<IsolationGuarantee> isolationGuarantees() {
        return java.util.EnumSet.allOf(IsolationGuarantee.class);
    }

    /** busybox has no git: diff must say so. Diff in a docker workspace is tested with the Debian image in DockerDiffIT. */
    @Override
    protected boolean supportsDiff() {
        return false;
    }

    /**
     * The file API takes absolute container paths, and the engine resolves links inside the container: a link to
     * {@code /etc/passwd} reads the container's file, which the workspace's commands read anyway — never the host's.
     */
    @Override
    protected boolean fileApiSpansTheWholeMachine() {
        return true;
    }

    @Override
    protected long outputLimitBytes() {
        return 256 * 1024;
    }

    /** Absolute paths are container paths; the root is {@code /workspace}. */
    @Override
    protected String absolutePath(String pathUnderRoot) {
        return "/workspace/" + pathUnderRoot;
    }

    @Override
    protected WorkspaceConfig.Builder customize(WorkspaceConfig.Builder builder) {
        return builder.image(DockerTestSupport.BUSYBOX);
    }

    @Override
    protected void assertNothingLeftBehind(Set<String> idsBefore) {
        String session = ((DockerWorkspaceProvider) provider).sessionId();
        Set<String> left = new HashSet<>();
        DockerTestSupport.containersWithLabel(raw.client(), "derrick.session", session)
                .forEach(c -> left.add(c.getLabels().get("derrick.workspace")));
        assertThat(left).isEqualTo(idsBefore);
    }
}
