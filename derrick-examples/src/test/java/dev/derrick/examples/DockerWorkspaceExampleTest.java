package dev.derrick.examples;

// --8<-- [start:junit-docker]
import dev.derrick.api.Workspace;
import dev.derrick.junit.DerrickTest;
import dev.derrick.junit.DerrickWorkspace;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

// Without a Docker engine these tests are reported as disabled, with the reason; with DERRICK_REQUIRE_DOCKER=true
// (as on CI) they fail instead.
@DerrickTest(disabledWithoutProvider = true)
class DockerWorkspaceExampleTest {
    // A fresh container for every test; "static" would give one for the whole class.
    @DerrickWorkspace(config = "classpath:example-docker-workspace.json", provider = "docker")
    Workspace container;

    @Test
    void buildsInAContainer() {
        assertThat(container.exec("sh app/build.sh").stdout()).contains("compiling in Linux", "BUILD OK");
    }

    @Test
    void eachTestGetsItsOwnContainer() {
        container.exec("rm -rf app && touch mess");   // no other test sees this
        assertThat(container.exec("test -f mess && test ! -e app").succeeded()).isTrue();
    }
}
// --8<-- [end:junit-docker]
